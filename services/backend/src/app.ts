import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { DestinationStream, LoggerOptions } from 'pino';
import { windowMs, type BackendConfig } from './config.js';
import authentication from './plugins/app/authentication.js';
import authorization from './plugins/app/authorization.js';
import auctionsRepository from './plugins/app/auctions-repository.js';
import databaseAvailability from './plugins/app/database-availability.js';
import errorHandler, { clientErrorHandler, frameworkErrors } from './plugins/app/error-handler.js';
import internalAuth from './plugins/app/internal-auth.js';
import jsonBodies from './plugins/app/json-bodies.js';
import metrics from './plugins/app/metrics.js';
import rateLimits from './plugins/app/rate-limits.js';
import retention from './plugins/app/retention.js';
import snapshotIngest from './plugins/app/snapshot-ingest.js';
import viewerAnalyticsRepository from './plugins/app/viewer-analytics-repository.js';
import viewerHours from './plugins/app/viewer-hours.js';
import helmet from './plugins/external/helmet.js';
import jwt from './plugins/external/jwt.js';
import mongodb from './plugins/external/mongodb.js';
import rateLimit from './plugins/external/rate-limit.js';
import swagger from './plugins/external/swagger.js';
import dashboard from './routes/dashboard/index.js';
import internal from './routes/internal/index.js';
import operations, { operationsLogLevel } from './routes/operations/index.js';
import pages from './routes/pages/index.js';

export interface AppOptions {
  readonly config: BackendConfig;
}

/** Node's default: how long an idle keep-alive connection stays open. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * Logs for a person at a terminal: one coloured line per entry, through pino-pretty in a worker
 * thread. Only in development and only on a TTY; everywhere else JSON lines, for machines.
 */
const PRETTY_LOGS: LoggerOptions['transport'] = {
  target: 'pino-pretty',
  options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
};

/** Where logs go: `destination` when given (tests), else stdout, pretty in development on a TTY. */
function logOutput(
  config: BackendConfig,
  destination: DestinationStream | undefined,
): { stream?: DestinationStream; transport?: LoggerOptions['transport'] } {
  if (destination !== undefined) return { stream: destination };
  return config.NODE_ENV === 'development' && process.stdout.isTTY ? { transport: PRETTY_LOGS } : {};
}

/** How long one plugin may take to start. */
const PLUGIN_TIMEOUT_MS = 10 * 60_000;

/** Fastify options shared by the server and the tests' app builder. */
export function fastifyOptions(config: BackendConfig, destination?: DestinationStream): FastifyHttpOptions<Server> {
  return {
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A client gets REQUEST_TIMEOUT_MS to send a whole request (then 408), and a connection that
    // is idle longer than keep-alive plus that is closed: slow clients cannot hold sockets forever.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: KEEP_ALIVE_TIMEOUT_MS + config.REQUEST_TIMEOUT_MS,
    // Node checks request deadlines every 30 s by default: too coarse for a timeout of seconds.
    http: { connectionsCheckingInterval: 1_000 },
    // Start-up builds indexes and marks the hours of snapshots stored before marks existed, once
    // per database: minutes on FerretDB with a million snapshots, past Fastify's default 10 s.
    pluginTimeout: PLUGIN_TIMEOUT_MS,
    frameworkErrors,
    clientErrorHandler,
    logger: {
      level: config.LOG_LEVEL,
      ...logOutput(config, destination),
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
  await fastify.register(helmet, { socketUrl: config.PUBLIC_SOCKET_URL });
  await fastify.register(rateLimit);

  // Our own plugins, one concern each.
  await fastify.register(metrics);
  await fastify.register(errorHandler);
  await fastify.register(jsonBodies);
  await fastify.register(rateLimits, { config });
  await fastify.register(internalAuth, { config });
  await fastify.register(authentication);
  await fastify.register(databaseAvailability);
  await fastify.register(auctionsRepository);
  await fastify.register(viewerAnalyticsRepository);
  await fastify.register(viewerHours, { config });
  await fastify.register(retention, { config });
  await fastify.register(authorization);
  await fastify.register(snapshotIngest, { config });

  // Routes, grouped by who calls them: internal and dashboard apply their guard to every route they hold.
  await fastify.register(operations, { logLevel: operationsLogLevel(config.LOG_LEVEL) });
  await fastify.register(pages, { socketUrl: config.PUBLIC_SOCKET_URL });
  await fastify.register(internal, { prefix: '/api/v1' });
  await fastify.register(dashboard, { prefix: '/api/v1', windowMs: windowMs(config), sampleIntervalMs: config.SAMPLE_INTERVAL_MS });
}

export default fp(app, { name: 'viewer-analytics-backend' });
