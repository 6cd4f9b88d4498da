import { hostname } from 'node:os';
import { startRedis, type RedisInstance } from '@viewer-analytics/redisdb';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimIdentity, processIdOf } from '../../src/cluster/process-identity.js';

describe('process identity', () => {
  let redis: RedisInstance;
  let client: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('keeps a configured id (a supervisor slot) and falls back to hostname and pid', () => {
    expect(processIdOf('box-a:3')).toBe('box-a:3');
    expect(processIdOf(undefined)).toBe(`${hostname()}:${String(process.pid)}`);
    expect(processIdOf('')).toBe(`${hostname()}:${String(process.pid)}`);
  });

  it('gives each start of the same id a greater epoch, and other ids their own', async () => {
    const first = await claimIdentity(client, 'identity:', 'box-a:1');
    const second = await claimIdentity(client, 'identity:', 'box-a:1');
    const other = await claimIdentity(client, 'identity:', 'box-a:2');
    expect(second).toEqual({ processId: 'box-a:1', epoch: first.epoch + 1 });
    expect(other.epoch).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 1);
    expect(other.epoch).toBeLessThan(2 ** 32);
  });

  it('still gives a greater epoch after Redis lost its counters (restarted empty)', async () => {
    const before = await claimIdentity(client, 'wiped:', 'box-b:1');
    await client.del('wiped:epoch:box-b:1'); // as a Redis restarted empty would have lost it
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const after = await claimIdentity(client, 'wiped:', 'box-b:1');
    expect(after.epoch).toBeGreaterThan(before.epoch);
  });
});
