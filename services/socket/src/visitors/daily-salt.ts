import { createHmac, randomBytes } from 'node:crypto';

export const DAY_MS = 86_400_000;
export const SALT_BYTES = 32;

/** The UTC day (days since the epoch) of a wall-clock time. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Where the salt of a day comes from: random in memory, or shared by the cluster (see cluster/shared-salt.ts). */
export interface SaltSource {
  /** A new salt for `day`, or undefined while none is known (the cluster's has not arrived yet). */
  saltFor(day: number): Buffer | undefined;
}

export const randomSalt: SaltSource = { saltFor: () => randomBytes(SALT_BYTES) };

/**
 * The secret that turns a viewer's identity into a visitor key, one per UTC day: replaced on the
 * first use after midnight (and at midnight by `rotate`), and the old one overwritten with zeros,
 * so that nobody, this process included, can link keys across days. Never written to disk, never
 * logged.
 */
export class DailySalt {
  private day = -1;
  private salt: Buffer | undefined;

  constructor(
    private readonly source: SaltSource = randomSalt,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The visitor's 32-bit key for today: HMAC-SHA256(salt, auction id, identity), its first four
   * bytes. Undefined while no salt is known for today (a cluster waiting for Redis): not counted.
   */
  visitorKey(auctionId: string, identity: string): number | undefined {
    const salt = this.current();
    if (salt === undefined) return undefined;
    return createHmac('sha256', salt).update(auctionId).update('\n').update(identity).digest().readUInt32BE(0);
  }

  /** Drops yesterday's salt once the day has turned (also called by a timer at midnight). */
  rotate(): void {
    const today = utcDay(this.now());
    if (today === this.day) return;
    this.salt?.fill(0);
    this.day = today;
    this.salt = this.source.saltFor(today);
  }

  /** Today's salt, taking the source's again when none was known. */
  private current(): Buffer | undefined {
    this.rotate();
    this.salt ??= this.source.saltFor(this.day);
    return this.salt;
  }
}

/** Milliseconds from `now` to the next UTC midnight. */
export function msUntilMidnight(now: number): number {
  return (utcDay(now) + 1) * DAY_MS - now;
}
