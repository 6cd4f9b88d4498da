import { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  /** Shown in CLIENT LIST, so that an operator (or a test) can tell the connections apart. */
  readonly name: string;
  /** Subscribers keep ioredis's offline queue: SUBSCRIBE issued before the connection is up waits for it. */
  readonly subscriber?: boolean;
  readonly log: (message: string) => void;
}

/** Reconnect delays grow by 100 ms per attempt up to this cap: Redis back means counts back within about a second. */
const RECONNECT_CAP_MS = 1_000;
/** A command unanswered this long counts as failed (a hung Redis keeps the TCP connection open). */
const COMMAND_TIMEOUT_MS = 1_000;

/**
 * One ioredis connection for the cluster modules. Commands fail at once while Redis is away
 * (no offline queue, no retries per request) instead of piling up behind a dead connection:
 * callers treat a failure as "degraded" and send their whole state again once it is back.
 * Errors are logged once per outage rather than thrown: an 'error' event without a listener
 * would crash the process.
 */
export function createRedisConnection(url: string, options: RedisConnectionOptions): Redis {
  const subscriber = options.subscriber ?? false;
  const redis = new Redis(url, {
    connectionName: options.name,
    enableOfflineQueue: subscriber,
    maxRetriesPerRequest: subscriber ? null : 0,
    ...(subscriber ? {} : { commandTimeout: COMMAND_TIMEOUT_MS }),
    retryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_CAP_MS),
  });
  let failing = false;
  redis.on('error', (error: Error) => {
    if (failing) return;
    failing = true;
    options.log(`Redis connection ${options.name}: ${error.message}; reconnecting`);
  });
  redis.on('ready', () => {
    if (failing) options.log(`Redis connection ${options.name}: back`);
    failing = false;
  });
  return redis;
}
