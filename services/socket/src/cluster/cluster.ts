import { once } from 'node:events';
import type { Redis } from 'ioredis';
import type { AuctionSlots } from '../auctions/auction-slots.js';
import type { ViewerCountSource } from '../auctions/viewer-counts.js';
import { ClusterCounts } from './cluster-counts.js';
import { claimIdentity, processIdOf } from './process-identity.js';
import { createRedisConnection } from './redis-connection.js';

export interface ClusterOptions {
  readonly redisUrl: string;
  /** SOCKET_PROCESS_ID; undefined: hostname:pid. */
  readonly processId: string | undefined;
  readonly prefix: string;
  readonly intervalMs: number;
  readonly slots: AuctionSlots;
  readonly local: ViewerCountSource;
  readonly log: (message: string) => void;
}

export interface Cluster {
  readonly counts: ClusterCounts;
  readonly processId: string;
  readonly epoch: number;
  /** Leaves the cluster (the others subtract this process at once), then closes the connections. Never throws. */
  close(): Promise<void>;
}

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
    return {
      counts,
      processId,
      epoch: identity.epoch,
      close: async () => {
        await counts.leave();
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
