import type { BackendClient } from '../delivery/backend-client.js';

interface Entry {
  readonly exists: boolean;
  readonly expiresAt: number;
}

export interface AuctionDirectoryOptions {
  readonly client: Pick<BackendClient, 'lookupAuction'>;
  readonly ttlMs: number;
  readonly negativeTtlMs: number;
  readonly maxEntries?: number;
}

/**
 * Answers "does this auction exist?" from the backend's internal lookup, caching both answers
 * (unknown ones briefly) and sharing one request among concurrent askers. When the backend
 * cannot be reached, an expired "yes" is still trusted: viewers of a known auction keep
 * watching through a backend outage.
 */
export class AuctionDirectory {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<boolean>>();
  private readonly maxEntries: number;

  constructor(private readonly options: AuctionDirectoryOptions) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** The fresh cached answer, or undefined when the backend must be asked. */
  cached(auctionId: string, now = Date.now()): boolean | undefined {
    const entry = this.entries.get(auctionId);
    return entry !== undefined && entry.expiresAt > now ? entry.exists : undefined;
  }

  exists(auctionId: string): Promise<boolean> {
    const cached = this.cached(auctionId);
    if (cached !== undefined) return Promise.resolve(cached);
    let request = this.pending.get(auctionId);
    if (request === undefined) {
      request = this.fetch(auctionId).finally(() => this.pending.delete(auctionId));
      this.pending.set(auctionId, request);
    }
    return request;
  }

  private async fetch(auctionId: string): Promise<boolean> {
    let exists: boolean;
    try {
      exists = (await this.options.client.lookupAuction(auctionId)).found;
    } catch (error) {
      if (this.entries.get(auctionId)?.exists === true) return true;
      throw error;
    }
    const ttl = exists ? this.options.ttlMs : this.options.negativeTtlMs;
    this.entries.delete(auctionId);
    this.entries.set(auctionId, { exists, expiresAt: Date.now() + ttl });
    if (this.entries.size > this.maxEntries) {
      // Maps iterate in insertion order: the first key is the least recently refreshed.
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    return exists;
  }
}
