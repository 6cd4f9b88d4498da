import { Pool } from 'undici';
import {
  INTERNAL_API_KEY_HEADER,
  type BatchOutcome,
} from '@viewer-analytics/shared';

export type BatchResult =
  | { readonly ok: true; readonly outcome: BatchOutcome }
  | { readonly ok: false; readonly status: number; readonly retry: boolean; readonly reason: string };

export interface LookupResult {
  readonly found: boolean;
}

/**
 * The backend's internal API over long-lived undici Pools (keep-alive, bounded timeouts).
 * Every response body is consumed, or the connection could not be reused.
 */
export class BackendClient {
  private readonly pool: Pool;
  /**
   * Lookups have their own connections: a flood of joins to made-up auctions must not queue
   * snapshots, and a slow batch must not keep a viewer waiting for its answer.
   */
  private readonly lookupPool: Pool;
  private readonly headers: Record<string, string>;

  constructor(origin: string, internalApiKey: string) {
    this.pool = new Pool(origin, {
      connections: 8,
      keepAliveTimeout: 30_000,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
      connectTimeout: 5_000,
    });
    this.lookupPool = new Pool(origin, {
      connections: 8,
      keepAliveTimeout: 30_000,
      // A viewer's upgrade waits for this answer: fail soon and let it retry (1013).
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
      connectTimeout: 2_000,
    });
    this.headers = { [INTERNAL_API_KEY_HEADER]: internalApiKey };
  }

  /** `signal` aborts the request (shutdown's deadline), whatever undici's own timeouts say. */
  async postSnapshots(body: Uint8Array, signal?: AbortSignal): Promise<BatchResult> {
    const response = await this.pool.request({
      method: 'POST',
      path: '/api/v1/analytics/snapshots',
      headers: { ...this.headers, 'content-type': 'application/json' },
      body,
      signal,
    });
    if (response.statusCode === 200) {
      // A backend older than the per-item answers (during a rolling deploy) has no `invalid`.
      const reply = (await response.body.json()) as { data: Omit<BatchOutcome, 'invalid'> & Partial<Pick<BatchOutcome, 'invalid'>> };
      return { ok: true, outcome: { ...reply.data, invalid: reply.data.invalid ?? [] } };
    }
    const reason = await errorReason(response.body);
    // Any other 4xx (a body the backend cannot parse at all) will never be accepted: retrying would block the queue.
    const retry = response.statusCode >= 500 || [401, 408, 429].includes(response.statusCode);
    return { ok: false, status: response.statusCode, retry, reason };
  }

  async lookupAuction(auctionId: string): Promise<LookupResult> {
    const response = await this.lookupPool.request({
      method: 'GET',
      path: `/api/v1/internal/auctions/${auctionId}`,
      headers: this.headers,
    });
    if (response.statusCode === 200) {
      await response.body.dump();
      return { found: true };
    }
    const reason = await errorReason(response.body);
    if (response.statusCode === 404) return { found: false };
    throw new Error(`auction lookup answered ${response.statusCode}: ${reason}`);
  }

  /** True when the backend answers its health check. */
  async reachable(): Promise<boolean> {
    try {
      const response = await this.pool.request({ method: 'GET', path: '/health', headersTimeout: 2_000 });
      await response.body.dump();
      return response.statusCode === 200;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.lookupPool.close()]);
  }
}

async function errorReason(body: { text(): Promise<string> }): Promise<string> {
  const text = await body.text();
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return `${parsed.error?.code ?? 'ERROR'}: ${parsed.error?.message ?? text}`;
  } catch {
    return text.slice(0, 200);
  }
}
