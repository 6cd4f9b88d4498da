import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DAY_MS, msUntilMidnight, SALT_BYTES, type SaltSource, utcDay } from '../visitors/daily-salt.js';

/** The key outlives its day by this much, for processes whose clocks run a little behind. */
const EXPIRY_MARGIN_MS = 60_000;
/** Tomorrow's salt is fetched this long before midnight, so that the day turns without asking Redis. */
const PREFETCH_BEFORE_MIDNIGHT_MS = 600_000;
/** How often a missing salt is asked for again (and tomorrow's looked at). */
const CHECK_MS = 2_000;

export interface SharedSaltOptions {
  /** Made by createRedisConnection: a command fails at once while Redis is away. */
  readonly redis: Redis;
  readonly prefix: string;
  readonly log: (message: string) => void;
  readonly now?: () => number;
}

/**
 * One salt per UTC day for the whole cluster, so that a visitor on two processes gets one key:
 * the first process to ask writes 32 random bytes (`SET <prefix>salt:<day> NX PXAT <end of day +
 * a minute>`), every process then reads what won (`GET`). Each keeps it in memory only, and drops
 * it (zeroed) once its day is over; Redis forgets it a minute after. While Redis cannot be asked,
 * `saltFor` answers undefined and the visitors who connect meanwhile are not counted (their
 * connections are); the salt is asked for again every 2 s, and tomorrow's ahead of midnight.
 */
export class SharedSalt implements SaltSource {
  private readonly salts = new Map<number, Buffer>();
  private readonly fetching = new Set<number>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(private readonly options: SharedSaltOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Fetches today's salt (within `waitMs`: start-up goes on without it) and keeps tomorrow's coming. */
  async start(waitMs: number): Promise<void> {
    this.timer = setInterval(this.check, CHECK_MS);
    this.timer.unref();
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref());
    await Promise.race([this.fetch(utcDay(this.now())), deadline]);
  }

  stop(): void {
    clearInterval(this.timer);
    for (const salt of this.salts.values()) salt.fill(0);
    this.salts.clear();
  }

  /** A copy of the cluster's salt for `day` (the caller zeroes its copy), or undefined while Redis has not given it. */
  saltFor(day: number): Buffer | undefined {
    const salt = this.salts.get(day);
    if (salt === undefined) {
      void this.fetch(day);
      return undefined;
    }
    return Buffer.from(salt);
  }

  private readonly check = (): void => {
    const now = this.now();
    const today = utcDay(now);
    for (const [day, salt] of this.salts) {
      if (day >= today) continue;
      salt.fill(0);
      this.salts.delete(day);
    }
    if (!this.salts.has(today)) void this.fetch(today);
    if (msUntilMidnight(now) <= PREFETCH_BEFORE_MIDNIGHT_MS && !this.salts.has(today + 1)) void this.fetch(today + 1);
  };

  private async fetch(day: number): Promise<void> {
    if (this.fetching.has(day) || this.salts.has(day) || day < utcDay(this.now())) return;
    this.fetching.add(day);
    const { redis, prefix, log } = this.options;
    const key = `${prefix}salt:${new Date(day * DAY_MS).toISOString().slice(0, 10)}`;
    try {
      const candidate = randomBytes(SALT_BYTES);
      const results = await redis
        .multi()
        .set(key, candidate, 'PXAT', (day + 1) * DAY_MS + EXPIRY_MARGIN_MS, 'NX')
        .getBuffer(key)
        .exec();
      candidate.fill(0);
      const failure = results?.find(([error]) => error !== null)?.[0] ?? (results === null ? new Error('transaction aborted') : undefined);
      if (failure !== undefined) throw failure;
      const salt = results?.[1]?.[1];
      if (!(salt instanceof Buffer) || salt.length !== SALT_BYTES) throw new Error(`${key} holds no salt of ${String(SALT_BYTES)} bytes`);
      if (day >= utcDay(this.now())) this.salts.set(day, salt);
      else salt.fill(0);
      if (this.failing) log('the cluster salt of the day was read from Redis again');
      this.failing = false;
    } catch (error) {
      // Said once per outage; the salt itself is never logged.
      if (!this.failing) log(`the cluster salt of the day could not be read from Redis (${error instanceof Error ? error.message : String(error)}); unique viewers who connect meanwhile are not counted`);
      this.failing = true;
    } finally {
      this.fetching.delete(day);
    }
  }
}
