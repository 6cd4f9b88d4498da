import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { documentRouteGroup, SECURITY } from '../../schemas/route-group.js';
import { SERVER_ERRORS } from '../../schemas/error-responses.js';
import auctions from './auctions.js';
import ingest from './ingest/index.js';

/**
 * What the socket server calls. Every route here, and any added later, needs the internal API
 * key (401 without it; 429 once an IP failed too often): the hook is the group's, not the route's.
 */
const internal: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRequest', fastify.requireInternalKey);
  fastify.addHook('onRoute', documentRouteGroup({ tag: 'internal', security: SECURITY.internalKey, errors: [401, 429, ...SERVER_ERRORS] }));

  await fastify.register(ingest);
  await fastify.register(auctions);
};

export default internal;
