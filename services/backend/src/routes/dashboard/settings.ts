import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ObjectId } from 'mongodb';
import { AuctionParamsSchema, AuctionSettingsResponseSchema, AuctionSettingsSchema } from '@viewer-analytics/shared';
import { AuctionNotFoundError } from '../../http-error.js';
import { BODY_ERRORS, errorResponses } from '../../schemas/error-responses.js';

/** The per-auction opt-in to viewer analytics, for its owner or an admin. */
const settings: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/auctions/:id/settings',
    {
      schema: {
        summary: 'Read whether the auction stores viewer analytics',
        params: AuctionParamsSchema,
        response: { 200: AuctionSettingsResponseSchema, ...errorResponses(400, 403, 404) },
      },
    },
    async (request) => {
      const auction = await fastify.authorization.auctionFor(request.user, request.params.id);
      return { success: true as const, data: { enableViewerAnalytics: auction.enableViewerAnalytics } };
    },
  );

  fastify.patch(
    '/auctions/:id/settings',
    {
      schema: {
        summary: 'Turn viewer analytics on or off for the auction',
        params: AuctionParamsSchema,
        body: AuctionSettingsSchema,
        response: { 200: AuctionSettingsResponseSchema, ...errorResponses(...BODY_ERRORS, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      await fastify.authorization.auctionFor(request.user, id);
      const { enableViewerAnalytics } = request.body;
      // Deleted between the check and the update: as if it had never been there.
      const updated = await fastify.auctions.setViewerAnalytics(new ObjectId(id), enableViewerAnalytics);
      if (updated === null) throw new AuctionNotFoundError(id);
      request.log.info({ auctionId: id, enableViewerAnalytics, by: request.user.sub }, 'viewer analytics setting changed');
      return { success: true as const, data: { enableViewerAnalytics: updated.enableViewerAnalytics } };
    },
  );
};

export default settings;
