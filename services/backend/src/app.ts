import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { BackendConfig } from './config.js';
import mongodb from './plugins/external/mongodb.js';
import health from './routes/health.js';

export interface AppOptions {
  readonly config: BackendConfig;
}

/** Fastify options shared by the server and the tests' app builder. */
export function fastifyOptions(config: BackendConfig): FastifyServerOptions {
  return {
    bodyLimit: config.BODY_LIMIT_BYTES,
    logger: {
      level: config.LOG_LEVEL,
      // Defence in depth: request logs carry no headers, but nothing secret may slip in later.
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-internal-api-key"]', 'headers.authorization', 'headers["x-internal-api-key"]'],
        censor: '[redacted]',
      },
    },
    ajv: {
      // Bodies must come with the right JSON types: "5" is not a count.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false },
    },
  };
}

/** Wires plugins and routes together; builds nothing itself. */
async function app(fastify: FastifyInstance, { config }: AppOptions): Promise<void> {
  await fastify.register(mongodb, { config });
  await fastify.register(health);
}

export default fp(app, { name: 'viewer-analytics-backend' });
