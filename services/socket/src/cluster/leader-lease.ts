import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ProcessIdentity } from './process-identity.js';

export interface LeaderLeaseOptions {
  /** Made by createRedisConnection: a command that cannot reach Redis fails at once. */
  readonly redis: Redis;
  readonly prefix: string;
  readonly identity: ProcessIdentity;
  /** How long a lease lasts without renewal; renewed every third of it. */
  readonly ttlMs: number;
  /** This process became the leader; `fencingEpoch` is greater than any earlier leader's. */
  readonly onGained?: (fencingEpoch: number) => void;
  /** This process is no longer the leader (lost, expired or released). */
  readonly onLost?: () => void;
  readonly log: (message: string) => void;
}

// Acquire and, in the same step, number the reign: a later leader always holds a greater epoch.
const ACQUIRE = `if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('incr', KEYS[2]) end return 0`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

/**
 * One leader among the processes: `SET <prefix>leader <id:epoch:token> NX PX ttl`, renewed by a
 * compare-and-renew script every ttl/3, given back by compare-and-delete. Each acquisition
 * increments `<prefix>leader:epoch`, the fencing epoch the leader attaches to what it does so
 * that work of a deposed leader can be told apart.
 *
 * The lease is held by this process's own clock, counted from when the last successful renewal
 * was sent: once that is `ttlMs` old (Redis unreachable, or this process paused) `isLeader()` is
 * false even before Redis is asked again, because another process may hold the lease by then.
 */
export class LeaderLease {
  private readonly key: string;
  private readonly epochKey: string;
  private readonly value: string;
  private leader = false;
  private validUntil = 0;
  private epoch = 0;
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  /** Times this process became the leader. */
  gains = 0;

  constructor(private readonly options: LeaderLeaseOptions) {
    this.key = `${options.prefix}leader`;
    this.epochKey = `${options.prefix}leader:epoch`;
    this.value = `${options.identity.processId}:${String(options.identity.epoch)}:${randomBytes(8).toString('hex')}`;
  }

  /** The fencing epoch of this process's current reign, 0 when it is not the leader. */
  get fencingEpoch(): number {
    return this.isLeader() ? this.epoch : 0;
  }

  isLeader(): boolean {
    return this.leader && performance.now() < this.validUntil;
  }

  start(): void {
    this.timer = setInterval(this.tick, this.options.ttlMs / 3);
    this.tick();
  }

  /** Stops renewing and gives the lease back at once, so that another process takes it on its next try. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.leader) return;
    this.lose();
    try {
      await this.options.redis.eval(RELEASE, 1, this.key, this.value);
    } catch (error) {
      this.options.log(`leader lease not released (${describe(error)}): it expires within ${String(this.options.ttlMs)} ms`);
    }
  }

  private readonly tick = (): void => {
    if (this.leader && !this.isLeader()) this.lose();
    if (this.busy) return;
    this.busy = true;
    const sentAt = performance.now();
    const { redis, ttlMs } = this.options;
    const attempt = this.leader ? redis.eval(RENEW, 1, this.key, this.value, ttlMs) : redis.eval(ACQUIRE, 2, this.key, this.epochKey, this.value, ttlMs);
    attempt
      .then((reply) => {
        if (this.timer === undefined) return; // Stopped meanwhile.
        const result = Number(reply);
        if (this.leader) {
          if (result === 1) this.validUntil = sentAt + ttlMs;
          else this.lose();
        } else if (result > 0) {
          this.leader = true;
          this.epoch = result;
          this.validUntil = sentAt + ttlMs;
          this.gains++;
          this.options.log(`leader now (fencing epoch ${String(result)})`);
          this.options.onGained?.(result);
        }
      })
      .catch((error: unknown) => {
        // The lease runs out on its own clock (isLeader); the next tick tries again.
        if (this.leader) this.options.log(`leader lease not renewed (${describe(error)})`);
      })
      .finally(() => {
        this.busy = false;
      });
  };

  private lose(): void {
    this.leader = false;
    this.epoch = 0;
    this.options.log('no longer the leader');
    this.options.onLost?.();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
