import Type from 'typebox';
import {
  assertProductionSecrets,
  HostSchema,
  LogLevelSchema,
  NodeEnvSchema,
  parseEnv,
  PortSchema,
  SampleIntervalMsSchema,
  SamplesPerSnapshotSchema,
  SecretSchema,
} from '@viewer-analytics/shared';

export const SocketEnvSchema = Type.Object({
  NODE_ENV: NodeEnvSchema,
  SOCKET_HOST: HostSchema,
  SOCKET_PORT: PortSchema(8081),
  BACKEND_API_URL: Type.String({ pattern: '^https?://[^/]+/?$', description: 'origin of the backend, e.g. http://localhost:8080' }),
  INTERNAL_API_KEY: SecretSchema('shared secret of the backend'),
  SAMPLE_INTERVAL_MS: SampleIntervalMsSchema,
  SAMPLES_PER_SNAPSHOT: SamplesPerSnapshotSchema,
  BROADCAST_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 1000, default: 200, description: 'coalescing interval of count updates (ms)' }),
  MAX_CONNECTIONS: Type.Integer({ minimum: 1, default: 19_000, description: 'open viewers one process accepts' }),
  MAX_AUCTIONS: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000, description: 'auctions tracked at once' }),
  OUTBOX_MAX_AGE_HOURS: Type.Number({
    exclusiveMinimum: 0,
    maximum: 24 * 90,
    default: 24,
    description: 'longest backend outage the outbox keeps snapshots for (hours); older ones are dropped',
  }),
  OUTBOX_MAX_MB: Type.Integer({
    minimum: 1,
    maximum: 65_536,
    default: 512,
    description: 'memory (and file size) the outbox may use (MiB); when full the oldest snapshots are dropped',
  }),
  OUTBOX_FILE: Type.String({
    default: '.data/socket-outbox.bin',
    description: 'write-ahead file of undelivered snapshots (one per process): survives crashes and restarts',
  }),
  FLUSH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 16, default: 2, description: 'batch requests in flight at once' }),
  RETRY_BASE_MS: Type.Integer({ minimum: 10, default: 1000, description: 'first retry delay after a failed delivery (ms)' }),
  RETRY_MAX_MS: Type.Integer({ minimum: 10, default: 60_000, description: 'longest retry delay (ms)' }),
  LOOKUP_TTL_MS: Type.Integer({ minimum: 0, default: 60_000, description: 'how long a known auction is cached (ms)' }),
  LOOKUP_NEGATIVE_TTL_MS: Type.Integer({ minimum: 0, default: 5_000, description: 'how long an unknown auction is cached (ms)' }),
  LOOKUP_CACHE_ENTRIES: Type.Integer({ minimum: 1, default: 100_000, description: 'known and, apart, unknown auctions cached at most' }),
  MAX_PENDING_LOOKUPS: Type.Integer({
    minimum: 1,
    default: 256,
    description: 'auction lookups under way at once; joins to other uncached auctions beyond it are refused with 1013',
  }),
  MAX_WAITING_VIEWERS: Type.Integer({
    minimum: 1,
    default: 500,
    description: 'connections waiting for their auction\'s lookup at once, apart from MAX_CONNECTIONS; more are refused with 1013',
  }),
  SHUTDOWN_FLUSH_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 5_000, description: 'time given to the last flush at shutdown (ms)' }),
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://[^\\s]+$',
      description: 'a redis:// or rediss:// URL; set, the socket processes sharing it count their viewers as one',
    }),
  ),
  SOCKET_PROCESS_ID: Type.Optional(
    Type.String({
      // Sent as latin1 with a one-byte length in every count message.
      pattern: '^[!-~]{1,200}$',
      description: 'stable id of this process in the cluster (e.g. a supervisor slot "host-a:2"), printable ASCII, at most 200 characters',
    }),
  ),
  REDIS_KEY_PREFIX: Type.String({
    // No glob characters: the prefix is part of a SCAN MATCH pattern.
    pattern: '^[A-Za-z0-9_.:-]{1,64}$',
    default: 'va:',
    description: 'prefix of the cluster\'s Redis keys and channel: letters, digits, _ . : -',
  }),
  TRUSTED_PROXY_HOPS: Type.Integer({
    minimum: 0,
    maximum: 10,
    default: 0,
    description:
      'proxies of your own in front of the socket server; >0: a viewer\'s IP (for counting unique viewers) is the X-Forwarded-For entry that many hops from the right, 0: the peer address, the header is ignored',
  }),
  LOG_LEVEL: LogLevelSchema,
});

export type SocketConfig = Readonly<Type.Static<typeof SocketEnvSchema>>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SocketConfig {
  const config = parseEnv('socket server', SocketEnvSchema, env);
  assertProductionSecrets('socket server', config.NODE_ENV, { INTERNAL_API_KEY: config.INTERNAL_API_KEY });
  return config;
}

/** Length of one snapshot window: timestamps are aligned to it. */
export function windowMs(config: SocketConfig): number {
  return config.SAMPLE_INTERVAL_MS * config.SAMPLES_PER_SNAPSHOT;
}
