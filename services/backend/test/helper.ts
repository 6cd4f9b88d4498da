import Fastify, { type FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { testDatabaseName } from '@viewer-analytics/devdb';
import app, { fastifyOptions } from '../src/app.js';
import { loadConfig, type BackendConfig } from '../src/config.js';

export const TEST_INTERNAL_API_KEY = 'test-internal-key-0123456789abcdef';
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdefghij';

/** Configuration of a test app: the run's database server, a database of the test file's own. */
export function testConfig(testFile: string, overrides: NodeJS.ProcessEnv = {}): BackendConfig {
  return loadConfig({
    NODE_ENV: 'test',
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DATABASE: testDatabaseName(testFile),
    INTERNAL_API_KEY: TEST_INTERNAL_API_KEY,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

/** The real app, as server.ts builds it, ready for `app.inject()`. */
export async function buildApp(config: BackendConfig): Promise<FastifyInstance> {
  const instance = Fastify(fastifyOptions(config));
  await instance.register(app, { config });
  await instance.ready();
  return instance;
}
