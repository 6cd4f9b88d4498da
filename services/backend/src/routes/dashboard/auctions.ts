import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AuctionParamsSchema, AuctionResponseSchema, CreateAuctionBodySchema, type Auction } from '@viewer-analytics/shared';
import type { AuctionDocument } from '../../plugins/app/auctions-repository.js';
import { BODY_ERRORS, errorResponses } from '../../schemas/error-responses.js';

function toAuction(auction: AuctionDocument): Auction {
  return {
    id: auction._id.toHexString(),
    title: auction.title,
    ownerId: auction.ownerId,
    enableViewerAnalytics: auction.enableViewerAnalytics,
    createdAt: auction.createdAt.toISOString(),
  };
}

/** The minimal auction resource the system needs to run on its own. */
const auctions: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/auctions',
    {
      schema: {
        summary: 'Create an auction (viewer analytics off); only an admin may name another owner',
        body: CreateAuctionBodySchema,
        response: { 201: AuctionResponseSchema, ...errorResponses(...BODY_ERRORS, 403) },
      },
    },
    async (request, reply) => {
      const ownerId = fastify.authorization.ownerOfNewAuction(request.user, request.body.ownerId);
      const auction = await fastify.auctions.create({ title: request.body.title, ownerId });
      request.log.info({ auctionId: auction._id.toHexString(), ownerId }, 'auction created');
      return reply.code(201).send({ success: true, data: toAuction(auction) });
    },
  );

  fastify.get(
    '/auctions/:id',
    {
      schema: {
        summary: 'Read an auction (its owner or an admin)',
        params: AuctionParamsSchema,
        response: { 200: AuctionResponseSchema, ...errorResponses(400, 403, 404) },
      },
    },
    async (request) => {
      const auction = await fastify.authorization.auctionFor(request.user, request.params.id);
      return { success: true as const, data: toAuction(auction) };
    },
  );
};

export default auctions;
