import { startRedis, type RedisInstance } from '@viewer-analytics/redisdb';
import { waitFor } from '@viewer-analytics/testkit';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection } from '../../src/cluster/redis-connection.js';
import { SharedSalt } from '../../src/cluster/shared-salt.js';
import { DailySalt, utcDay } from '../../src/visitors/daily-salt.js';
import { ready } from './cluster-node.js';

const DAY_MS = 86_400_000;
const PREFIX = 'salt-test:';

describe('the cluster salt: one per UTC day for every process, in memory, gone from Redis after its day', () => {
  let redis: RedisInstance;
  const connections: Redis[] = [];
  const salts: SharedSalt[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(() => {
    for (const salt of salts.splice(0)) salt.stop();
    for (const connection of connections.splice(0)) connection.disconnect();
  });
  afterAll(async () => {
    await redis.stop();
  });

  async function process(name: string, now: { ms: number }): Promise<SharedSalt> {
    const connection = createRedisConnection(redis.url, { name, log: () => undefined });
    connections.push(connection);
    await ready(connection);
    const salt = new SharedSalt({ redis: connection, prefix: PREFIX, log: () => undefined, now: () => now.ms });
    salts.push(salt);
    return salt;
  }

  it('gives two processes starting together the same salt, so one visitor has one key on both, and another the next day', async () => {
    const now = { ms: Date.now() };
    const [a, b] = await Promise.all([process('a', now), process('b', now)]);
    await Promise.all([a.start(5_000), b.start(5_000)]);
    const today = utcDay(now.ms);
    const saltA = a.saltFor(today);
    expect(saltA).toHaveLength(32);
    expect(b.saltFor(today)).toEqual(saltA);
    const key = (source: SharedSalt): number | undefined => new DailySalt(source, () => now.ms).visitorKey('0123456789abcdef01234567', 'a:10.0.0.1\nBrowser');
    expect(key(a)).toBe(key(b));

    const stored = `${PREFIX}salt:${new Date(today * DAY_MS).toISOString().slice(0, 10)}`;
    expect(await connections[0]!.getBuffer(stored)).toEqual(saltA);
    expect(Date.now() + (await connections[0]!.pttl(stored))).toBeLessThanOrEqual((today + 1) * DAY_MS + 61_000);

    // Tomorrow's is not known until asked (then fetched): meanwhile nobody is counted.
    const todaysKey = key(a);
    expect(a.saltFor(today + 1)).toBeUndefined();
    await waitFor(() => a.saltFor(today + 1) !== undefined, 5_000, "tomorrow's salt");
    now.ms += DAY_MS;
    await waitFor(() => b.saltFor(today + 1) !== undefined, 5_000, "tomorrow's salt on the other process");
    expect(b.saltFor(today + 1)).toEqual(a.saltFor(today + 1));
    expect(key(a)).toBe(key(b));
    expect(key(a)).not.toBe(todaysKey);
  });
});
