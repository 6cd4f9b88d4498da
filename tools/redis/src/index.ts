/**
 * The one place that decides which Redis a run uses (tests, the start command, benchmarks):
 * REDIS_URL if set, else `redis:7` through testcontainers when a Docker engine answers, else a
 * local redis-server (Debian's package) started on a free loopback port.
 */
import { dockerEngineAnswers } from '@viewer-analytics/testkit';
import { startRedisContainer } from './docker.js';
import type { RedisInstance } from './redis.js';
import { findRedisServer, startRedisServer } from './redis-server.js';

export type { RedisInstance, RedisKind } from './redis.js';
/** For fault tests that need a local redis-server they can kill and start again on the same port. */
export { findRedisServer, startRedisServer, type RedisServerOptions } from './redis-server.js';

export interface StartRedisOptions {
  /** Where a local redis-server keeps its append-only file (npm start); no persistence when omitted (tests). */
  readonly dataDir?: string;
  readonly log?: (message: string) => void;
  /** Where REDIS_URL and PATH are read; the process's environment when omitted. */
  readonly env?: NodeJS.ProcessEnv;
}

export class NoRedisError extends Error {
  constructor(detail: string) {
    super(
      `No Redis available (${detail}). Either:\n` +
        '  1. set REDIS_URL to a running Redis, e.g. REDIS_URL=redis://127.0.0.1:6379\n' +
        '  2. start a Docker engine, so that testcontainers can run redis:7, or\n' +
        '  3. install Debian\'s redis-server package (apt-get install -y redis-server), so that a local one can be started.',
    );
    this.name = 'NoRedisError';
  }
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisInstance> {
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;
  const fromEnv = env['REDIS_URL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    log('using the Redis at REDIS_URL');
    return { url: fromEnv, kind: 'url', stop: () => Promise.resolve() };
  }
  if (dockerEngineAnswers()) {
    log('Docker engine found: starting redis:7 with testcontainers');
    return startRedisContainer();
  }
  const binary = findRedisServer(env['PATH']);
  if (binary === undefined) throw new NoRedisError('REDIS_URL is not set, no Docker engine answers, no redis-server on PATH');
  return startRedisServer({ binary, dataDir: options.dataDir, log });
}

