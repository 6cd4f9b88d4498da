import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startRedis, type RedisInstance } from '@viewer-analytics/redisdb';
import { waitFor } from '@viewer-analytics/testkit';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LeaderLease } from '../../src/cluster/leader-lease.js';
import { createRedisConnection } from '../../src/cluster/redis-connection.js';
import { ready } from './cluster-node.js';

const TTL_MS = 1_500;

describe('leader lease', () => {
  let redis: RedisInstance;
  let prefix = '';
  let run = 0;
  const connections: Redis[] = [];
  const leases: LeaderLease[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  beforeEach(() => {
    prefix = `lease${String(++run)}:`;
  });
  afterEach(async () => {
    await Promise.all(leases.splice(0).map((lease) => lease.stop()));
    for (const connection of connections.splice(0)) connection.disconnect();
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await redis.stop();
  });

  /** A candidate in this test process with a connection of its own; `events` records gains and losses. */
  async function candidate(processId: string, events: string[] = []): Promise<LeaderLease> {
    const connection = createRedisConnection(redis.url, { name: processId, log: () => undefined });
    connections.push(connection);
    await ready(connection);
    const lease = new LeaderLease({
      redis: connection,
      prefix,
      identity: { processId, epoch: 1 },
      ttlMs: TTL_MS,
      onGained: (epoch) => events.push(`gained ${String(epoch)}`),
      onLost: () => events.push('lost'),
      log: () => undefined,
    });
    leases.push(lease);
    lease.start();
    return lease;
  }

  /** A candidate in a child process (the built module), which prints "gained <epoch>" and "lost". */
  async function childCandidate(events: string[]): Promise<ChildProcess> {
    const dist = (file: string): string => JSON.stringify(new URL(`../../dist/cluster/${file}`, import.meta.url).href);
    const script = `
      import { LeaderLease } from ${dist('leader-lease.js')};
      import { createRedisConnection } from ${dist('redis-connection.js')};
      const redis = createRedisConnection(${JSON.stringify(redis.url)}, { name: 'child', log: () => {} });
      redis.once('ready', () => new LeaderLease({
        redis, prefix: ${JSON.stringify(prefix)}, identity: { processId: 'child', epoch: 1 }, ttlMs: ${String(TTL_MS)},
        onGained: (epoch) => console.log('gained ' + epoch), onLost: () => console.log('lost'), log: () => {},
      }).start());
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    createInterface({ input: child.stdout }).on('line', (line) => events.push(line));
    await waitFor(() => events.includes('gained 1'), 5_000, 'the child to lead');
    return child;
  }

  it('lets exactly one of two candidates lead, with a fencing epoch', async () => {
    const a = await candidate('a');
    const b = await candidate('b');
    await waitFor(() => a.isLeader() || b.isLeader(), 5_000, 'a leader');
    // Several renewals later, still exactly one.
    for (let i = 0; i < 10; i++) {
      expect(Number(a.isLeader()) + Number(b.isLeader())).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, TTL_MS / 5));
    }
    const leader = a.isLeader() ? a : b;
    expect(leader.fencingEpoch).toBe(1);
    expect((a.isLeader() ? b : a).fencingEpoch).toBe(0);
  });

  it('hands over at once on release, with a greater fencing epoch', async () => {
    const aEvents: string[] = [];
    const a = await candidate('a', aEvents);
    await waitFor(() => a.isLeader(), 5_000, 'a to lead');
    const b = await candidate('b');
    await a.stop();
    expect(aEvents).toEqual(['gained 1', 'lost']);
    const releasedAt = performance.now();
    await waitFor(() => b.isLeader(), TTL_MS, 'b to take over');
    // On b's next try (every ttl/3), not after the lease would have expired.
    expect(performance.now() - releasedAt).toBeLessThan(TTL_MS / 3 + 200);
    expect(b.fencingEpoch).toBe(2);
  });

  it('passes to another process within the lease time when the leader is killed', async () => {
    const childEvents: string[] = [];
    const child = await childCandidate(childEvents);
    const b = await candidate('b');
    await new Promise((resolve) => setTimeout(resolve, TTL_MS));
    expect(b.isLeader()).toBe(false); // The child's renewals keep it leading.

    const killedAt = performance.now();
    child.kill('SIGKILL');
    await waitFor(() => b.isLeader(), 2 * TTL_MS, 'b to take over');
    expect(performance.now() - killedAt).toBeLessThan(TTL_MS + TTL_MS / 3 + 200);
    expect(b.fencingEpoch).toBe(2);
  });

  it('takes the lease from a paused leader, which knows it lost it as soon as it runs again', async () => {
    const childEvents: string[] = [];
    const child = await childCandidate(childEvents);
    const bEvents: string[] = [];
    const b = await candidate('b', bEvents);

    child.kill('SIGSTOP');
    try {
      await waitFor(() => b.isLeader(), 2 * TTL_MS, 'b to take over from the paused leader');
    } finally {
      child.kill('SIGCONT');
    }
    await waitFor(() => childEvents.includes('lost'), TTL_MS, 'the child to notice');
    expect(childEvents).toEqual(['gained 1', 'lost']);
    expect(b.fencingEpoch).toBe(2);
    // The woken child does not take it back.
    await new Promise((resolve) => setTimeout(resolve, TTL_MS));
    expect(bEvents).toEqual(['gained 2']);
    expect(b.isLeader()).toBe(true);
  });
});
