import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationGaps } from '@viewer-analytics/testkit';
import { BackendEnvSchema, loadConfig } from '../src/config.js';

const REPO = join(import.meta.dirname, '../../..');

describe('backend configuration', () => {
  it('reads exactly what .env.example lists for it, and docs/configuration.md documents each', () => {
    const read = Object.keys(BackendEnvSchema.properties);
    expect(configurationGaps(REPO, ['both services', 'backend (Fastify)'], read)).toEqual({ notRead: [], notListed: [], undocumented: [] });
  });

  it('refuses to start with a message naming every bad variable, never its value', () => {
    const start = () => loadConfig({ MONGODB_URI: 'postgres://secret-host', INTERNAL_API_KEY: 'short', RATE_LIMIT_MAX: '0' });
    for (const problem of ['MONGODB_URI is invalid', 'INTERNAL_API_KEY is invalid', 'JWT_SECRET is required', 'RATE_LIMIT_MAX is invalid']) expect(start).toThrow(problem);
    expect(start).not.toThrow(/secret-host/);
  });
});
