import { once } from 'node:events';
import type { Redis } from 'ioredis';
import type { AuctionSlots } from '../auctions/auction-slots.js';
import type { ViewerCountSource } from '../auctions/viewer-counts.js';
import type { SnapshotOutbox } from '../delivery/snapshot-outbox.js';
import { ClusterCounts } from './cluster-counts.js';
import { LeaderDelivery } from './leader-delivery.js';
import { LeaderLease } from './leader-lease.js';
import { claimIdentity, processIdOf } from './process-identity.js';
import { createRedisConnection } from './redis-connection.js';
import { SharedSalt } from './shared-salt.js';
import { SharedVisitors, type SharedVisitorsOptions } from './shared-visitors.js';

export interface ClusterOptions {
  readonly redisUrl: string;
  /** SOCKET_PROCESS_ID; undefined: hostname:pid. */
  readonly processId: string | undefined;
  readonly prefix: string;
  readonly intervalMs: number;
  readonly slots: AuctionSlots;
  readonly local: ViewerCountSource;
  /** Snapshots: only the leader sends them; the others keep copies until the leader marks them delivered. */
  readonly outbox: SnapshotOutbox;
  readonly windowMs: number;
  /** The outbox lost copies the leader delivered, or this process may send more. */
  readonly onDeliveryChange: () => void;
  readonly log: (message: string) => void;
}

export interface Cluster {
  readonly counts: ClusterCounts;
  readonly delivery: LeaderDelivery;
  readonly lease: LeaderLease;
  readonly processId: string;
  readonly epoch: number;
  /** The cluster's daily salt: every process hashes a visitor to the same key. */
  readonly salt: SharedSalt;
  /** Shares the keys of this process's window sketches with the others, and adds theirs (started here, stopped by close). */
  shareVisitors(options: Pick<SharedVisitorsOptions, 'visitors' | 'openWindow'>): Promise<SharedVisitors>;
  /**
   * The first step of a shutdown: the others subtract this process's viewers at once and, when
   * any are alive, one of them takes over delivery (this process gives the lease back).
   */
  leave(): Promise<void>;
  /** The last step (leaving first if not done): marks what this process delivered, gives the lease back, closes the connections. Never throws. */
  close(): Promise<void>;
}

/**
 * How long a leader's lease lasts without renewal: a killed leader is replaced within this. Its
 * windows are not lost meanwhile (every process keeps copies), only delivered a little later.
 */
const LEASE_TTL_MS = 5_000;
/** How long start waits for the day's salt before it goes on without (visitors are counted once it comes). */
const SALT_WAIT_MS = 2_000;
/** How often the delivered windows are read: how soon a follower forgets its copies. */
const MARKS_REFRESH_MS = 1_000;

/**
 * How long start waits for Redis: an epoch must come from Redis before this process may publish,
 * and a supervisor restarting a process that cannot reach it is clearer than one running alone.
 */
const CONNECT_WAIT_MS = 10_000;

/** Connects to Redis, claims this process's next epoch and starts counting over the cluster. */
export async function joinCluster(options: ClusterOptions): Promise<Cluster> {
  const processId = processIdOf(options.processId);
  const commands = createRedisConnection(options.redisUrl, { name: `${processId}:commands`, log: options.log });
  const subscriber = createRedisConnection(options.redisUrl, { name: `${processId}:subscriber`, subscriber: true, log: options.log });
  try {
    await connected(commands);
    const identity = await claimIdentity(commands, options.prefix, processId);
    const counts = new ClusterCounts({
      slots: options.slots,
      local: options.local,
      identity,
      commands,
      subscriber,
      prefix: options.prefix,
      timings: { intervalMs: options.intervalMs },
      log: options.log,
    });
    await counts.start();
    const lease = new LeaderLease({ redis: commands, prefix: options.prefix, identity, ttlMs: LEASE_TTL_MS, onGained: options.onDeliveryChange, log: options.log });
    const delivery = new LeaderDelivery({
      redis: commands,
      prefix: options.prefix,
      lease,
      outbox: options.outbox,
      windowMs: options.windowMs,
      // Marks outlive the oldest snapshot an outbox keeps by a day.
      keepMarksMs: options.outbox.maxAgeMs + 86_400_000,
      refreshMs: MARKS_REFRESH_MS,
      onChange: options.onDeliveryChange,
      alone: () => counts.peersAlive === 0,
      startedAt: Date.now(),
      log: options.log,
    });
    delivery.start();
    const salt = new SharedSalt({ redis: commands, prefix: options.prefix, log: options.log });
    await salt.start(SALT_WAIT_MS);
    let shared: SharedVisitors | undefined;
    let leaving: Promise<void> | undefined;
    const leave = (): Promise<void> =>
      (leaving ??= (async () => {
        if (counts.peersAlive > 0) await delivery.resign();
        await counts.leave();
      })());
    return {
      counts,
      delivery,
      lease,
      processId,
      epoch: identity.epoch,
      salt,
      shareVisitors: async ({ visitors, openWindow }) => {
        shared = new SharedVisitors({
          slots: options.slots,
          ids: counts.ids,
          visitors,
          openWindow,
          windowMs: options.windowMs,
          commands,
          subscriber,
          prefix: options.prefix,
          processId,
          intervalMs: options.intervalMs,
          log: options.log,
        });
        await shared.start();
        return shared;
      },
      leave,
      close: async () => {
        await leave();
        shared?.stop();
        salt.stop();
        await delivery.close();
        disconnect(commands, subscriber);
      },
    };
  } catch (error) {
    disconnect(commands, subscriber);
    throw error;
  }
}

/** Commands fail at once until the connection is up (no offline queue): wait for it, within a bound. */
async function connected(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  const deadline = AbortSignal.timeout(CONNECT_WAIT_MS);
  try {
    await once(redis, 'ready', { signal: deadline });
  } catch {
    // The URL may hold a password: it is not repeated here.
    throw new Error(`Redis (REDIS_URL) did not answer within ${String(CONNECT_WAIT_MS)} ms`);
  }
}

function disconnect(...connections: Redis[]): void {
  for (const redis of connections) redis.disconnect();
}
