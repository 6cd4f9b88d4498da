import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import snapshot from './analytics/snapshot.js';
import viewers, { type ViewersOptions } from './analytics/viewers.js';
import auctions from './auctions.js';
import settings from './settings.js';

/** Everything under /api/v1/auctions. */
const auctionRoutes: FastifyPluginAsyncTypebox<ViewersOptions> = async (fastify, { windowMs }) => {
  await fastify.register(auctions);
  await fastify.register(settings);
  await fastify.register(snapshot);
  await fastify.register(viewers, { windowMs });
};

export default auctionRoutes;
