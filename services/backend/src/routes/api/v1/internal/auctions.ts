import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ObjectId } from 'mongodb';
import { AuctionLookupResponseSchema, AuctionParamsSchema } from '@viewer-analytics/shared';
import { auctionNotFound } from '../../../../http-error.js';
import { SECURITY } from '../../../../plugins/external/swagger.js';
import { errorResponses, SERVER_ERRORS } from '../../../../schemas/error-responses.js';

/**
 * Whether an auction exists, asked by the socket server before it accepts a viewer (it caches
 * the answer for LOOKUP_TTL_MS). Analytics on or off is not its business: the ingest decides.
 */
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
      return reply.send({ success: true, data: { id: auction._id.toHexString() } });
    },
  );
};

export default auctions;
