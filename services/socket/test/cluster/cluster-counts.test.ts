import { startRedis, type RedisInstance } from '@viewer-analytics/redisdb';
import { waitFor } from '@viewer-analytics/testkit';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auctionId, ClusterNode, TEST_TIMINGS } from './cluster-node.js';

describe('cluster counts', () => {
  let redis: RedisInstance;
  let admin: Redis;
  const nodes: ClusterNode[] = [];
  let prefix = '';
  let run = 0;

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.close()));
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  /** A process of a cluster of its own per test (its own key prefix). */
  async function node(processId: string, timings = {}): Promise<ClusterNode> {
    const started = await ClusterNode.start(redis.url, prefix, processId, timings);
    nodes.push(started);
    return started;
  }

  beforeEach(() => {
    prefix = `t${String(++run)}:`;
  });

  async function publishCalls(): Promise<number> {
    const stats = await admin.info('commandstats');
    return Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  }

  it('shows every process the sum over all processes, including one that starts later', async () => {
    const a = await node('a');
    const b = await node('b');
    a.join(1, 3);
    b.join(1, 2);
    b.join(2, 1);
    await waitFor(() => a.count(1) === 5 && b.count(1) === 5 && a.count(2) === 1, 5_000, 'the sums');

    // A newcomer reads the hashes at start: right before any delta reaches it.
    const c = await node('c');
    expect(c.count(1)).toBe(5);
    expect(c.count(2)).toBe(1);

    // The broadcaster hears of the remote change through forEachChanged.
    const visited: number[] = [];
    a.counts.forEachChanged((slot) => visited.push(slot));
    b.join(2, 4);
    await waitFor(() => a.count(2) === 5, 5_000, 'the delta');
    a.counts.forEachChanged((slot) => visited.push(slot));
    expect(visited).toContain(a.slots.slotOf(auctionId(2)));
  });

  it('sends one message per tick whatever the number of joins', async () => {
    const a = await node('a', { heartbeatMs: 60_000 });
    const b = await node('b', { heartbeatMs: 60_000 });
    await sleep(3 * TEST_TIMINGS.intervalMs);
    const publishedBefore = a.counts.stats.messagesPublished;
    const bytesBefore = a.counts.stats.bytesPublished;
    const callsBefore = await publishCalls();

    for (let i = 0; i < 5_000; i++) a.join(i % 10);
    await waitFor(() => b.count(9) === 500, 5_000, 'the burst to arrive');
    await sleep(3 * TEST_TIMINGS.intervalMs);

    // 5,000 joins on 10 auctions: one message of 10 pairs (16 bytes each) after the header
    // (kind, id length, the id "a", epoch, sequence).
    expect(a.counts.stats.messagesPublished - publishedBefore).toBe(1);
    expect(a.counts.stats.bytesPublished - bytesBefore).toBe(2 + 1 + 8 + 10 * 16);
    expect((await publishCalls()) - callsBefore).toBe(1);
  });

  it('drops a process killed without a word once it has been silent for the expiry', async () => {
    const a = await node('a');
    const b = await ClusterNode.start(redis.url, prefix, 'b', TEST_TIMINGS);
    b.join(1, 4);
    await waitFor(() => a.count(1) === 4, 5_000, 'the count');

    const killedAt = performance.now();
    b.crash();
    await sleep(TEST_TIMINGS.expireMs / 2);
    expect(a.count(1)).toBe(4); // Silence shorter than the expiry is not death.
    await waitFor(() => a.count(1) === 0, 3_000, 'the dead process to be dropped');
    expect(performance.now() - killedAt).toBeLessThan(TEST_TIMINGS.expireMs + TEST_TIMINGS.heartbeatMs + 3 * TEST_TIMINGS.checkMs);
    expect(a.counts.peersAlive).toBe(0);
    // Its hash expires too, so that no reload brings it back.
    await waitFor(async () => (await admin.exists(`${prefix}counts:b`)) === 0, 3_000, 'the hash to expire');
  });

  it('writes its whole hash again after a stall as long as the expiry, not a delta onto nothing', async () => {
    const a = await node('a');
    const b = await node('b');
    b.join(1, 3);
    b.join(2, 1);
    await waitFor(() => a.count(1) === 3 && a.count(2) === 1, 5_000, 'the counts');

    // b's event loop "stalls": no mark fires, its hash expires and a drops it.
    b.counts.stopTimers();
    await waitFor(() => a.count(1) === 0, 5_000, 'the silent process to be dropped');
    await waitFor(async () => (await admin.exists(`${prefix}counts:b`)) === 0, 5_000, 'the hash to expire');

    // Its first write after the stall carries only auction 2's change; auction 1 must come back too.
    b.join(2, 1);
    b.counts.publishChanges();
    await waitFor(() => a.count(1) === 3 && a.count(2) === 2, 5_000, () => `both counts back, saw ${String(a.count(1))} and ${String(a.count(2))}`);
    expect(await admin.hget(`${prefix}counts:b`, auctionId(1))).toBe('3');
  });

  it('subtracts a process that leaves gracefully at once', async () => {
    const a = await node('a');
    const b = await ClusterNode.start(redis.url, prefix, 'b', TEST_TIMINGS);
    b.join(1, 4);
    await waitFor(() => a.count(1) === 4, 5_000, 'the count');
    const leftAt = performance.now();
    await b.close();
    await waitFor(() => a.count(1) === 0, 2_000, 'the leave');
    expect(performance.now() - leftAt).toBeLessThan(100);
    expect(await admin.exists(`${prefix}counts:b`)).toBe(0);
  });

  it('never counts a restarted process twice: its new epoch replaces its old counts at once', async () => {
    const a = await node('a');
    const first = await ClusterNode.start(redis.url, prefix, 'slot-1', TEST_TIMINGS);
    first.join(1, 5);
    await waitFor(() => a.count(1) === 5, 5_000, 'the first life');
    first.crash();

    let highest = 0;
    const watch = setInterval(() => {
      highest = Math.max(highest, a.count(1));
    }, 2);
    try {
      const second = await node('slot-1');
      expect(second.identity.epoch).toBe(first.identity.epoch + 1);
      second.join(1, 2);
      await waitFor(() => a.count(1) === 2, 1_000, 'the second life to replace the first');
    } finally {
      clearInterval(watch);
    }
    expect(highest).toBeLessThanOrEqual(5);
  });

  it('heals messages lost while its subscriber was cut off from the hashes', async () => {
    const a = await node('a');
    const b = await node('b');
    b.join(1, 1);
    await waitFor(() => a.count(1) === 1, 5_000, 'the count');

    // Cut a's subscriber: b's next messages are lost to it (pub/sub keeps nothing), and only
    // a's reload can bring them back (b itself saw no trouble and sends only what changes).
    const clients = String(await admin.client('LIST'));
    const id = new RegExp(`id=(\\d+) .*name=a-subscriber `).exec(clients)?.[1];
    expect(id).toBeDefined();
    await admin.client('KILL', 'ID', id!);
    b.join(1, 6);
    b.join(3, 2);
    // How soon a's subscriber is back (about 100 ms) decides whether it missed b's messages; either
    // way the reload after its reconnect must run and leave a with b's counts.
    await waitFor(() => a.count(1) === 7 && a.count(3) === 2, 3_000, 'the reload after the reconnect');
    expect(a.counts.stats.reloads).toBeGreaterThan(0);
  });

  it('keeps serving its own counts while Redis hangs, reports degraded, and recovers by itself', async () => {
    const a = await node('a');
    const b = await node('b');
    a.join(1, 2);
    b.join(1, 3);
    await waitFor(() => a.count(1) === 5 && b.count(1) === 5, 5_000, 'the count');

    process.kill(redis.pid!, 'SIGSTOP');
    try {
      await waitFor(() => a.counts.degraded && b.counts.degraded, 5_000, 'degraded');
      // Own viewers count at once; the other process's last known count stays (frozen, not dropped).
      expect(() => {
        a.join(1, 10);
      }).not.toThrow();
      expect(a.count(1)).toBe(15);
      await sleep(TEST_TIMINGS.expireMs + 500);
      expect(a.count(1)).toBe(15);
      expect(b.count(1)).toBe(5);
    } finally {
      process.kill(redis.pid!, 'SIGCONT');
    }
    const backAt = performance.now();
    await waitFor(() => !a.counts.degraded && !b.counts.degraded && b.count(1) === 15, 5_000, 'the recovery');
    expect(performance.now() - backAt).toBeLessThan(3_000);
    expect(a.count(1)).toBe(15);
  });
});
