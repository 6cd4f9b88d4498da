import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationGaps } from '@viewer-analytics/testkit';
import { loadConfig, SocketEnvSchema } from '../src/config.js';

const REPO = join(import.meta.dirname, '../../..');

describe('socket server configuration', () => {
  it('reads exactly what .env.example lists for it, and docs/configuration.md documents each', () => {
    const read = Object.keys(SocketEnvSchema.properties);
    expect(configurationGaps(REPO, ['both services', 'socket server (uWebSockets.js)'], read)).toEqual({
      notRead: [],
      notListed: [],
      undocumented: [],
    });
  });

  it('refuses to start with a message naming every bad variable, never its value', () => {
    const start = () => loadConfig({ BACKEND_API_URL: 'ftp://secret-host', INTERNAL_API_KEY: 'short', OUTBOX_MAX_MB: '0' });
    for (const problem of ['BACKEND_API_URL is invalid', 'INTERNAL_API_KEY is invalid', 'OUTBOX_MAX_MB is invalid']) expect(start).toThrow(problem);
    expect(start).not.toThrow(/secret-host/);
  });

  it('takes Redis only from a redis:// or rediss:// URL; unset or empty, no Redis at all', () => {
    const base = { BACKEND_API_URL: 'http://localhost:8080', INTERNAL_API_KEY: 'a-long-enough-internal-key' };
    expect(loadConfig(base).REDIS_URL).toBeUndefined();
    expect(loadConfig({ ...base, REDIS_URL: '' }).REDIS_URL).toBeUndefined();
    expect(loadConfig({ ...base, REDIS_URL: 'rediss://user:pw@redis.example:6380/0' }).REDIS_URL).toBe('rediss://user:pw@redis.example:6380/0');
    expect(loadConfig(base).REDIS_KEY_PREFIX).toBe('va:');
    expect(() => loadConfig({ ...base, REDIS_URL: 'http://redis.example' })).toThrow('REDIS_URL is invalid');
    expect(() => loadConfig({ ...base, REDIS_KEY_PREFIX: 'va*' })).toThrow('REDIS_KEY_PREFIX is invalid');
  });
});
