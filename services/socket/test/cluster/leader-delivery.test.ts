import { startRedis, type RedisInstance } from '@viewer-analytics/redisdb';
import { waitFor } from '@viewer-analytics/testkit';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LeaderDelivery } from '../../src/cluster/leader-delivery.js';
import { LeaderLease } from '../../src/cluster/leader-lease.js';
import { createRedisConnection } from '../../src/cluster/redis-connection.js';
import { SnapshotOutbox } from '../../src/delivery/snapshot-outbox.js';
import { ready } from './cluster-node.js';

const WINDOW_MS = 60_000;
const T0 = Date.UTC(2026, 10, 30, 12, 0);
const ID = new Uint8Array(12).fill(7);

describe('leader delivery: only the leader sends, the others keep copies until it marks their window delivered', () => {
  let redis: RedisInstance;
  let prefix = '';
  let run = 0;
  const connections: Redis[] = [];
  const deliveries: LeaderDelivery[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  beforeEach(() => {
    prefix = `delivery${String(++run)}:`;
  });
  afterEach(async () => {
    await Promise.all(deliveries.splice(0).map((delivery) => delivery.close()));
    for (const connection of connections.splice(0)) connection.disconnect();
  });
  afterAll(async () => {
    await redis.stop();
  });

  /** One process's side: its outbox (two auctions per window) and its delivery; `leads` stands at once, else never. */
  async function processWith(name: string, leads: boolean, windows: number[], startedAt = leads ? T0 : Infinity) {
    const connection = createRedisConnection(redis.url, { name, log: () => undefined });
    connections.push(connection);
    await ready(connection);
    const outbox = new SnapshotOutbox({ maxRecords: 1_000, maxAgeMs: 86_400_000 });
    const lease = new LeaderLease({ redis: connection, prefix, identity: { processId: name, epoch: 1 }, ttlMs: 3_000, log: () => undefined });
    let changes = 0;
    const delivery = new LeaderDelivery({
      redis: connection,
      prefix,
      lease,
      outbox,
      windowMs: WINDOW_MS,
      keepMarksMs: 86_400_000,
      refreshMs: 100,
      onChange: () => changes++,
      alone: () => leads,
      startedAt,
      log: () => undefined,
    });
    deliveries.push(delivery);
    for (const window of windows) closeWindow(outbox, delivery, window);
    delivery.start();
    if (leads) await waitFor(() => delivery.isLeader, 5_000, `${name} to lead`);
    return { outbox, delivery, changes: () => changes };
  }

  function closeWindow(outbox: SnapshotOutbox, delivery: LeaderDelivery, window: number): void {
    outbox.append(ID, 0, window, 3, 9, 4, 2, 3);
    outbox.append(ID, 0, window, 5, 15, 6, 4, 3);
    delivery.windowClosed(window);
  }

  const windowsIn = (outbox: SnapshotOutbox): number[] => {
    const windows: number[] = [];
    for (let seq = outbox.head; seq < outbox.tail; seq++) windows.push(outbox.windowStartOf(seq));
    return windows;
  };

  it('the leader may send everything; a follower nothing while no window is marked', async () => {
    const windows = [T0, T0 + WINDOW_MS];
    const leader = await processWith('leader', true, windows);
    const follower = await processWith('follower', false, windows);
    expect(leader.delivery.sendableEnd()).toBe(leader.outbox.tail);
    expect(follower.delivery.isLeader).toBe(false);
    expect(follower.delivery.sendableEnd()).toBe(follower.outbox.head);
  });

  it('marks a window once the backend answered for all of it; the followers drop their copies of it', async () => {
    const windows = [T0, T0 + WINDOW_MS, T0 + 2 * WINDOW_MS];
    const leader = await processWith('leader', true, windows);
    const follower = await processWith('follower', false, windows);

    // The backend answered for the first window and half of the second.
    leader.outbox.acknowledge(leader.outbox.head + 3);
    await waitFor(() => leader.delivery.windowsMarked === 1, 3_000, 'the first window to be marked');
    await waitFor(() => windowsIn(follower.outbox)[0] === T0 + WINDOW_MS, 3_000, "the follower to drop the first window's copies");
    expect(windowsIn(follower.outbox)).toEqual([T0 + WINDOW_MS, T0 + WINDOW_MS, T0 + 2 * WINDOW_MS, T0 + 2 * WINDOW_MS]);
    expect(follower.delivery.recordsTrimmed).toBe(2);
    // Nothing of a window still waiting at the leader is dropped, nor sent by the follower.
    expect(follower.delivery.sendableEnd()).toBe(follower.outbox.head);

    leader.outbox.acknowledge(leader.outbox.tail);
    await waitFor(() => follower.outbox.size === 0, 3_000, 'the follower to drop every copy');
    expect(leader.delivery.windowsMarked).toBe(3);
    expect(follower.changes()).toBeGreaterThan(0);
  });

  it('a leader vouches only for windows it saw whole; a follower sends a window the leader never had', async () => {
    // The follower kept the windows a dead leader never delivered; the new leader started after them.
    const follower = await processWith('follower', false, [T0, T0 + WINDOW_MS, T0 + 2 * WINDOW_MS]);
    const leader = await processWith('leader', true, [T0 + WINDOW_MS, T0 + 2 * WINDOW_MS], T0 + 1.5 * WINDOW_MS);
    leader.outbox.acknowledge(leader.outbox.tail);
    await waitFor(() => leader.delivery.windowsMarked === 1, 3_000, 'the window it saw whole to be marked');

    // Its first window was partial: not marked. The follower sends its whole copy of it, and of the
    // window before, both older than the newest mark; it keeps the marked one until they are answered for.
    await waitFor(() => follower.delivery.sendableEnd() === follower.outbox.head + 4, 3_000, 'the follower to see the holes');
    expect(windowsIn(follower.outbox)).toEqual([T0, T0, T0 + WINDOW_MS, T0 + WINDOW_MS, T0 + 2 * WINDOW_MS, T0 + 2 * WINDOW_MS]);
    follower.outbox.acknowledge(follower.outbox.head + 4);
    await waitFor(() => follower.outbox.size === 0, 3_000, "the follower to drop the marked window's copies");
  });
});
