import Type from 'typebox';
import { ConfigError, MIN_INTERNAL_API_KEY_LENGTH, parseEnv } from '@viewer-analytics/shared';

const BackendEnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
    description: 'development, production or test',
  }),
  BACKEND_HOST: Type.String({ default: '0.0.0.0', description: 'interface to listen on' }),
  BACKEND_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port, 0 for any free one' }),
  MONGODB_URI: Type.String({ pattern: '^mongodb(\\+srv)?://', description: 'a mongodb:// or mongodb+srv:// URI' }),
  MONGODB_DATABASE: Type.String({
    minLength: 1,
    maxLength: 63,
    pattern: '^[A-Za-z0-9_-]+$',
    default: 'viewer_analytics',
    description: 'database name: letters, digits, _ and -',
  }),
  INTERNAL_API_KEY: Type.String({ minLength: 16, description: 'shared secret of the socket server, 16+ characters (32+ in production)' }),
  JWT_SECRET: Type.String({ minLength: 16, description: 'HS256 secret for dashboard tokens, 16+ characters (32+ in production)' }),
  RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 90, description: 'days snapshots are kept' }),
  RETENTION_PURGE_INTERVAL_MS: Type.Integer({
    minimum: 1000,
    default: 3_600_000,
    description: 'how often snapshots past retention are purged where TTL indexes are unsupported (ms)',
  }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 2 * 1024 * 1024, description: 'largest request body in bytes' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'a pino level' },
  ),
});

export type BackendConfig = Readonly<Type.Static<typeof BackendEnvSchema>>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BackendConfig {
  const config = parseEnv('backend', BackendEnvSchema, env);
  if (config.NODE_ENV === 'production') {
    const weak = (['INTERNAL_API_KEY', 'JWT_SECRET'] as const).filter((key) => config[key].length < MIN_INTERNAL_API_KEY_LENGTH);
    if (weak.length > 0) {
      throw new ConfigError(
        'backend',
        weak.map((key) => `${key} must be at least ${MIN_INTERNAL_API_KEY_LENGTH} characters in production`),
      );
    }
  }
  return config;
}
