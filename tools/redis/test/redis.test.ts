import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { dockerEngineAnswers, isAlive, waitFor } from '@viewer-analytics/testkit';
import { NoRedisError, startRedis, type RedisInstance } from '../src/index.js';

const noDocker = !dockerEngineAnswers();
/** The ladder's environment without REDIS_URL, so that it reaches the local redis-server. */
const localEnv = { PATH: process.env['PATH'] };

function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => {
      resolve(true);
    });
  });
}

async function ping(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

describe.runIf(noDocker)('startRedis on a machine without Docker', () => {
  const started: RedisInstance[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((redis) => redis.stop()));
  });

  it('starts redis-server on a free loopback port, answers PING, and frees the port on stop', async () => {
    const redis = await startRedis({ env: localEnv });
    started.push(redis);
    expect(redis.kind).toBe('redis-server');
    expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(await ping(redis.url)).toBe('PONG');

    await redis.stop();
    expect(isAlive(redis.pid!)).toBe(false);
    expect(await refused(redis.url)).toBe(true);
  });

  it('uses REDIS_URL as is and starts nothing of its own', async () => {
    const server = await startRedis({ env: localEnv });
    started.push(server);
    const fromEnv = await startRedis({ env: { ...localEnv, REDIS_URL: server.url } });
    expect(fromEnv).toMatchObject({ kind: 'url', url: server.url });
    expect(fromEnv.pid).toBeUndefined();
    await fromEnv.stop();
    expect(await ping(server.url)).toBe('PONG');
  });

  it('names the three ways out when there is no REDIS_URL, no Docker and no redis-server on PATH', async () => {
    const failure = startRedis({ env: { PATH: '' } });
    await expect(failure).rejects.toBeInstanceOf(NoRedisError);
    await expect(failure).rejects.toThrow(/REDIS_URL[\s\S]*Docker engine[\s\S]*redis-server package/);
  });

  it('keeps its data in dataDir across restarts (npm start)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'redis-data-'));
    try {
      const first = await startRedis({ env: localEnv, dataDir });
      started.push(first);
      const client = new Redis(first.url);
      await client.set('kept', 'yes');
      client.disconnect();
      await first.stop();

      const second = await startRedis({ env: localEnv, dataDir });
      started.push(second);
      const again = new Redis(second.url);
      expect(await again.get('kept')).toBe('yes');
      again.disconnect();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('does not outlive a parent killed with SIGKILL', async () => {
    // A real parent process: the module is loaded from the build, as the start command does.
    const script = `
      import { startRedis } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const redis = await startRedis({ env: { PATH: process.env.PATH } });
      console.log(JSON.stringify({ pid: redis.pid, url: redis.url }));
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { env: localEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve) => createInterface({ input: parent.stdout }).once('line', resolve));
      const { pid, url } = JSON.parse(line) as { pid: number; url: string };
      expect(await ping(url)).toBe('PONG');

      parent.kill('SIGKILL');
      await waitFor(() => !isAlive(pid), 5_000, 'redis-server to end with its parent');
      expect(await refused(url)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
