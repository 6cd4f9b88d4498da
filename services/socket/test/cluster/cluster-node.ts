import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { AuctionSlots } from '../../src/auctions/auction-slots.js';
import { LocalViewerCounts } from '../../src/auctions/viewer-counts.js';
import { ClusterCounts, type ClusterTimings } from '../../src/cluster/cluster-counts.js';
import { claimIdentity, type ProcessIdentity } from '../../src/cluster/process-identity.js';
import { createRedisConnection } from '../../src/cluster/redis-connection.js';

/** Short timings so that expiry and heartbeats happen within a test. */
export const TEST_TIMINGS: ClusterTimings = { intervalMs: 50, heartbeatMs: 300, expireMs: 1_500, checkMs: 100, reloadDelayMs: 100 };

/** An auction id (24 lowercase hex digits) for a small number. */
export function auctionId(n: number): string {
  return n.toString(16).padStart(24, '0');
}

/** Commands fail at once until the connection is up (no offline queue): wait for it. */
export async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await once(redis, 'ready');
}

/** What one socket process holds for the cluster: its slots, own viewers, connections and cluster counts. */
export class ClusterNode {
  readonly slots = new AuctionSlots(1_000);
  readonly local = new LocalViewerCounts(1_000);
  readonly logs: string[] = [];
  readonly commands: Redis;
  readonly subscriber: Redis;
  counts!: ClusterCounts;
  identity!: ProcessIdentity;

  constructor(
    readonly url: string,
    readonly prefix: string,
    readonly processId: string,
  ) {
    const log = (message: string): void => {
      this.logs.push(message);
    };
    this.commands = createRedisConnection(url, { name: `${processId}-commands`, log });
    this.subscriber = createRedisConnection(url, { name: `${processId}-subscriber`, subscriber: true, log });
  }

  static async start(url: string, prefix: string, processId: string, timings: Partial<ClusterTimings> = {}): Promise<ClusterNode> {
    const node = new ClusterNode(url, prefix, processId);
    await ready(node.commands);
    node.identity = await claimIdentity(node.commands, prefix, processId);
    node.counts = new ClusterCounts({
      slots: node.slots,
      local: node.local,
      identity: node.identity,
      commands: node.commands,
      subscriber: node.subscriber,
      prefix,
      timings: { ...TEST_TIMINGS, ...timings },
      log: (message) => node.logs.push(message),
    });
    await node.counts.start();
    return node;
  }

  join(auction: number, viewers = 1): void {
    const slot = this.slots.acquire(auctionId(auction));
    for (let i = 0; i < viewers; i++) this.local.join(slot);
  }

  leave(auction: number, viewers = 1): void {
    const slot = this.slots.slotOf(auctionId(auction));
    for (let i = 0; i < viewers; i++) this.local.leave(slot);
  }

  /** The cluster-wide count of an auction as this process sees it (0 when it has no slot here). */
  count(auction: number): number {
    const slot = this.slots.slotOf(auctionId(auction));
    return slot < 0 ? 0 : this.counts.countAt(slot);
  }

  /** Ends as a SIGKILL would: no leave message, connections cut. */
  crash(): void {
    this.counts.stopTimers();
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  async close(): Promise<void> {
    await this.counts.leave();
    this.commands.disconnect();
    this.subscriber.disconnect();
  }
}
