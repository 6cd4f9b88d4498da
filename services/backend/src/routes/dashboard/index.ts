import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SERVER_ERRORS } from '../../schemas/error-responses.js';
import { documentRouteGroup, SECURITY } from '../../schemas/route-group.js';
import auctions from './auctions.js';
import insights from './insights.js';
import settings from './settings.js';
import viewers, { type ViewersOptions } from './viewers.js';

/**
 * The dashboard API, for an auction's owner or an admin. Every route here, and any added later,
 * needs a valid bearer JWT (401; 429 once an IP failed too often) and spends its user's request
 * budget (429): the hooks are the group's, not the route's. Which auction a user may reach is
 * each route's business (fastify.authorization).
 */
const dashboard: FastifyPluginAsyncTypebox<ViewersOptions> = async (fastify, { windowMs, sampleIntervalMs }) => {
  fastify.addHook('onRequest', fastify.authenticate);
  // After authentication, so the budget is the user's rather than the IP's.
  fastify.addHook('preValidation', fastify.limitDashboardCaller);
  fastify.addHook('onRoute', documentRouteGroup({ tag: 'dashboard', security: SECURITY.bearer, errors: [401, 429, ...SERVER_ERRORS] }));

  await fastify.register(auctions);
  await fastify.register(settings);
  await fastify.register(viewers, { windowMs, sampleIntervalMs });
  await fastify.register(insights, { windowMs, sampleIntervalMs });
};

export default dashboard;
