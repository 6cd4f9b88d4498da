import type { Logger } from 'pino';
import type { BackendClient } from '../backend/backend-client.js';

export interface AuctionDirectoryOptions {
  readonly client: Pick<BackendClient, 'lookupAuction'>;
  readonly ttlMs: number;
  readonly negativeTtlMs: number;
  /** Auctions remembered of each kind: known ones and unknown ones are bounded apart. */
  readonly maxEntries: number;
  /** Lookups of different auctions under way at once; more are refused rather than queued. */
  readonly maxPendingLookups: number;
  /** Where a failed lookup is reported: once per lookup, however many viewers were waiting for it. */
  readonly log: Pick<Logger, 'warn'>;
}

/**
 * Answers "does this auction exist?" from the backend's internal lookup, caching both answers
 * (unknown ones briefly) and sharing one request among concurrent askers. Known and unknown
 * auctions live in separate maps, each dropping its oldest entry when full, so that a flood of
 * made-up ids can only push out other made-up ids. When the backend cannot be reached, an
 * expired "yes" is still trusted: viewers of a known auction keep watching through an outage.
 * Expiry runs on the monotonic clock: a wall clock stepped back must not keep answers longer.
 */
export class AuctionDirectory {
  private readonly known: BoundedExpiries;
  private readonly unknown: BoundedExpiries;
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(private readonly options: AuctionDirectoryOptions) {
    this.known = new BoundedExpiries(options.maxEntries);
    this.unknown = new BoundedExpiries(options.maxEntries);
  }

  /** The fresh cached answer, or undefined when the backend must be asked. */
  cached(auctionId: string): boolean | undefined {
    const now = performance.now();
    if ((this.known.expiresAt(auctionId) ?? 0) > now) return true;
    if ((this.unknown.expiresAt(auctionId) ?? 0) > now) return false;
    return undefined;
  }

  /** False when asking about this auction would exceed the pending lookups allowed. */
  canAsk(auctionId: string): boolean {
    return this.pending.size < this.options.maxPendingLookups || this.pending.has(auctionId);
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
      if (this.known.expiresAt(auctionId) !== undefined) return true;
      this.options.log.warn({ auctionId, err: error }, 'auction lookup failed; its waiting viewers are asked to retry');
      throw error;
    }
    const now = performance.now();
    if (exists) {
      this.unknown.delete(auctionId);
      this.known.set(auctionId, now + this.options.ttlMs);
    } else {
      this.known.delete(auctionId);
      this.unknown.set(auctionId, now + this.options.negativeTtlMs);
    }
    return exists;
  }
}

/** Id → expiry, at most `capacity` of them; the least recently set goes first. */
class BoundedExpiries {
  private readonly entries = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  expiresAt(id: string): number | undefined {
    return this.entries.get(id);
  }

  set(id: string, expiresAt: number): void {
    // Deleted first so that the id moves to the end of the Map's insertion order.
    this.entries.delete(id);
    this.entries.set(id, expiresAt);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  delete(id: string): void {
    this.entries.delete(id);
  }
}
