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
});
