import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ObjectId } from 'mongodb';
import { AuctionLookupResponseSchema, AuctionParamsSchema } from '@viewer-analytics/shared';
import { auctionNotFound } from '../../../../http-error.js';
import { SECURITY } from '../../../../plugins/external/swagger.js';
import { errorResponses, SERVER_ERRORS } from '../../../../schemas/error-responses.js';

/**
 * Whether an auction exists and records analytics, asked by the socket server before it accepts
 * a viewer. A few seconds of caching spares the database a lookup per join during a surge.
 */
const CACHE_CONTROL = 'private, max-age=5';

const auctions: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/auctions/:id',
    {
      onRequest: fastify.requireInternalKey,
      schema: {
        tags: ['ingest'],
        summary: 'Look up an auction for the socket server',
        security: [{ [SECURITY.internalKey]: [] }],
        params: AuctionParamsSchema,
        response: { 200: AuctionLookupResponseSchema, ...errorResponses(400, 401, 404, 429, ...SERVER_ERRORS) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const auction = await fastify.auctions.findById(new ObjectId(id));
      if (auction === null) throw auctionNotFound(id);
      return reply
        .header('cache-control', CACHE_CONTROL)
        .send({ success: true, data: { id: auction._id.toHexString(), enableViewerAnalytics: auction.enableViewerAnalytics } });
    },
  );
};

export default auctions;
