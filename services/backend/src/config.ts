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

export const BackendEnvSchema = Type.Object({
  NODE_ENV: NodeEnvSchema,
  BACKEND_HOST: HostSchema,
  BACKEND_PORT: PortSchema(8080),
  MONGODB_URI: Type.String({ pattern: '^mongodb(\\+srv)?://', description: 'a mongodb:// or mongodb+srv:// URI' }),
  MONGODB_DATABASE: Type.String({
    minLength: 1,
    maxLength: 63,
    pattern: '^[A-Za-z0-9_-]+$',
    default: 'viewer_analytics',
    description: 'database name: letters, digits, _ and -',
  }),
  INTERNAL_API_KEY: SecretSchema('shared secret of the socket server'),
  JWT_SECRET: SecretSchema('HS256 secret for dashboard tokens'),
  SAMPLE_INTERVAL_MS: SampleIntervalMsSchema,
  SAMPLES_PER_SNAPSHOT: SamplesPerSnapshotSchema,
  RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 90, description: 'days snapshots are kept' }),
  RETENTION_PURGE_INTERVAL_MS: Type.Integer({
    minimum: 1000,
    default: 3_600_000,
    description: 'how often snapshots past retention are purged where TTL indexes are unsupported (ms)',
  }),
  PUBLIC_SOCKET_URL: Type.String({
    pattern: '^(wss?://[^/]+/?)?$',
    default: '',
    description: 'socket server URL the live view connects to (ws:// or wss://), and whose HTTP side on the same host and port the overview asks for live counts; empty: the page host on port 8081',
  }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 2 * 1024 * 1024, description: 'largest request body in bytes' }),
  REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 30_000,
    description: 'longest time a client may take to send a whole request (ms); slower ones get 408',
  }),
  RATE_LIMIT_MAX: Type.Integer({
    minimum: 1,
    default: 120,
    description: 'dashboard API requests one user (JWT sub) may make per RATE_LIMIT_WINDOW_MS',
  }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1000, default: 60_000, description: 'window of both rate limits (ms)' }),
  AUTH_FAILURE_LIMIT_MAX: Type.Integer({
    minimum: 1,
    default: 20,
    description: 'failed authentications (bad token or internal key) one IP may make per RATE_LIMIT_WINDOW_MS before 429s',
  }),
  LOG_LEVEL: LogLevelSchema,
});

export type BackendConfig = Readonly<Type.Static<typeof BackendEnvSchema>>;

/** Length of one snapshot window: stored timestamps are multiples of it since the epoch. */
export function windowMs(config: BackendConfig): number {
  return config.SAMPLE_INTERVAL_MS * config.SAMPLES_PER_SNAPSHOT;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BackendConfig {
  const config = parseEnv('backend', BackendEnvSchema, env);
  assertProductionSecrets('backend', config.NODE_ENV, { INTERNAL_API_KEY: config.INTERNAL_API_KEY, JWT_SECRET: config.JWT_SECRET });
  return config;
}
