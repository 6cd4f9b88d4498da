import { randomBytes } from 'node:crypto';
import { KeyedHash } from './keyed-hash.js';

export const DAY_MS = 86_400_000;
export const SALT_BYTES = 32;

/** The UTC day (days since the epoch) of a wall-clock time. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Where the salt of a day comes from: random in memory, or shared by the cluster (see cluster/shared-salt.ts). */
export interface SaltSource {
  /** A new salt buffer for `day` (the caller zeroes it once used), or undefined while none is known (the cluster's has not arrived yet). */
  saltFor(day: number): Buffer | undefined;
}

export const randomSalt: SaltSource = { saltFor: () => randomBytes(SALT_BYTES) };

/**
 * The secret that turns a viewer's identity into a visitor key, one per UTC day: replaced on the
 * first use after midnight (and at midnight by `rotate`), the old one overwritten with zeros, so
 * that nobody, this process included, can link keys across days. The salt is kept only as the
 * keyed hash made from it (the salt's buffer is zeroed once that is made). Never written to disk,
 * never logged.
 */
export class DailySalt {
  private day = -1;
  private hash: KeyedHash | undefined;

  constructor(
    private readonly source: SaltSource = randomSalt,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The visitor's 32-bit key for today: HMAC-SHA256(salt, auction id, identity), its first four
   * bytes. Undefined while no salt is known for today (a cluster waiting for Redis): not counted.
   */
  visitorKey(auctionId: string, identity: string): number | undefined {
    return this.current()?.key(auctionId, identity);
  }

  /** Drops yesterday's salt once the day has turned (also called by a timer at midnight). */
  rotate(): void {
    const today = utcDay(this.now());
    if (today === this.day) return;
    this.hash?.wipe();
    this.day = today;
    this.hash = this.hashFor(today);
  }

  /** Today's keyed hash, taking the source's salt again when none was known. */
  private current(): KeyedHash | undefined {
    this.rotate();
    this.hash ??= this.hashFor(this.day);
    return this.hash;
  }

  private hashFor(day: number): KeyedHash | undefined {
    const salt = this.source.saltFor(day);
    if (salt === undefined) return undefined;
    const hash = new KeyedHash(salt);
    salt.fill(0);
    return hash;
  }
}

/** Milliseconds from `now` to the next UTC midnight. */
export function msUntilMidnight(now: number): number {
  return (utcDay(now) + 1) * DAY_MS - now;
}
