import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { DestinationStream } from 'pino';
import type { BackendConfig } from './config.js';
import authentication from './plugins/app/authentication.js';
import authorization from './plugins/app/authorization.js';
import auctionsRepository from './plugins/app/auctions-repository.js';
import errorHandler from './plugins/app/error-handler.js';
import internalAuth from './plugins/app/internal-auth.js';
import jsonBodies from './plugins/app/json-bodies.js';
import metrics from './plugins/app/metrics.js';
import retention from './plugins/app/retention.js';
import snapshotIngest from './plugins/app/snapshot-ingest.js';
import viewerAnalyticsRepository from './plugins/app/viewer-analytics-repository.js';
import jwt from './plugins/external/jwt.js';
import mongodb from './plugins/external/mongodb.js';
import staticAssets from './plugins/external/static.js';
import swagger from './plugins/external/swagger.js';
import analyticsSnapshots from './routes/api/v1/analytics/snapshots.js';
import auctionRoutes from './routes/api/v1/auctions/index.js';
import internalAuctions from './routes/api/v1/internal/auctions.js';
import health from './routes/health/index.js';
import metricsRoute from './routes/metrics/index.js';
import pages from './routes/pages/index.js';
import ready from './routes/ready/index.js';

export interface AppOptions {
  readonly config: BackendConfig;
}

/** Fastify options shared by the server and the tests' app builder; logs go to stdout unless `destination` is given. */
export function fastifyOptions(config: BackendConfig, destination?: DestinationStream): FastifyServerOptions {
  return {
    bodyLimit: config.BODY_LIMIT_BYTES,
    logger: {
      level: config.LOG_LEVEL,
      ...(destination === undefined ? {} : { stream: destination }),
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
  // Third-party plugins. Swagger comes before any route: it collects them as they are added.
  await fastify.register(mongodb, { config });
  await fastify.register(jwt, { config });
  await fastify.register(swagger);
  await fastify.register(staticAssets);

  // Our own plugins, one concern each.
  await fastify.register(metrics);
  await fastify.register(errorHandler);
  await fastify.register(jsonBodies);
  await fastify.register(internalAuth, { config });
  await fastify.register(authentication);
  await fastify.register(auctionsRepository);
  await fastify.register(viewerAnalyticsRepository);
  await fastify.register(retention, { config });
  await fastify.register(authorization);
  await fastify.register(snapshotIngest);

  await fastify.register(health);
  await fastify.register(ready);
  await fastify.register(metricsRoute);
  await fastify.register(auctionRoutes, { prefix: '/api/v1/auctions' });
  await fastify.register(analyticsSnapshots, { prefix: '/api/v1/analytics' });
  await fastify.register(internalAuctions, { prefix: '/api/v1/internal' });
  await fastify.register(pages, { socketUrl: config.PUBLIC_SOCKET_URL });
}

export default fp(app, { name: 'viewer-analytics-backend' });
