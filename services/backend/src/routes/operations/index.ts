import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { LogLevel } from 'fastify';
import { documentRouteGroup } from '../../schemas/route-group.js';
import health from './health.js';
import metrics from './metrics.js';
import ready from './ready.js';

/**
 * Load balancers, orchestrators and Prometheus, polling every few seconds: public, with no guard.
 * app.ts registers this group at operationsLogLevel(LOG_LEVEL), so a poll writes no request log lines.
 */
const operations: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRoute', documentRouteGroup({ tag: 'operations' }));

  await fastify.register(health);
  await fastify.register(ready);
  await fastify.register(metrics);
};

const QUIET_LEVELS: readonly LogLevel[] = ['warn', 'error', 'fatal', 'silent'];

/**
 * The log level of the operations routes: warnings and worse (a database that does not answer
 * /ready), never Fastify's per-request info lines; a quieter LOG_LEVEL stays quieter.
 */
export function operationsLogLevel(level: LogLevel): LogLevel {
  return QUIET_LEVELS.includes(level) ? level : 'warn';
}

export default operations;
