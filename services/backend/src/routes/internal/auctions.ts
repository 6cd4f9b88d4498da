import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ObjectId } from 'mongodb';
import { AuctionLookupResponseSchema, AuctionParamsSchema } from '@viewer-analytics/shared';
import { AuctionNotFoundError } from '../../http-error.js';
import { errorResponses } from '../../schemas/error-responses.js';

/**
 * Whether an auction exists, asked by the socket server before it accepts a viewer (it caches
 * the answer for LOOKUP_TTL_MS). Analytics on or off is not its business: the ingest decides.
 */
const auctions: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/internal/auctions/:id',
    {
      schema: {
        summary: 'Look up an auction for the socket server',
        params: AuctionParamsSchema,
        response: { 200: AuctionLookupResponseSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const auctionId = new ObjectId(id);
      if (!(await fastify.auctions.exists(auctionId))) throw new AuctionNotFoundError(id);
      return { success: true as const, data: { id: auctionId.toHexString() } };
    },
  );
};

export default auctions;
