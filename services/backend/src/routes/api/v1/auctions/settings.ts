import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ObjectId } from 'mongodb';
import { AuctionParamsSchema, AuctionSettingsResponseSchema, AuctionSettingsSchema } from '@viewer-analytics/shared';
import { auctionNotFound } from '../../../../http-error.js';
import { SECURITY } from '../../../../plugins/external/swagger.js';
import { BODY_ERRORS, errorResponses, SERVER_ERRORS } from '../../../../schemas/error-responses.js';

/** The per-auction opt-in to viewer analytics, for its owner or an admin. */
const settings: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/:id/settings',
    {
      onRequest: fastify.authenticate,
      preValidation: fastify.limitDashboardCaller,
      schema: {
        tags: ['auctions'],
        summary: 'Read whether the auction stores viewer analytics',
        security: [{ [SECURITY.bearer]: [] }],
        params: AuctionParamsSchema,
        response: { 200: AuctionSettingsResponseSchema, ...errorResponses(400, 401, 403, 404, 429, ...SERVER_ERRORS) },
      },
    },
    async (request) => {
      const auction = await fastify.authorization.auctionFor(request.user, request.params.id);
      return { success: true as const, data: { enableViewerAnalytics: auction.enableViewerAnalytics } };
    },
  );

  fastify.patch(
    '/:id/settings',
    {
      onRequest: fastify.authenticate,
      preValidation: fastify.limitDashboardCaller,
      schema: {
        tags: ['auctions'],
        summary: 'Turn viewer analytics on or off for the auction',
        security: [{ [SECURITY.bearer]: [] }],
        params: AuctionParamsSchema,
        body: AuctionSettingsSchema,
        response: { 200: AuctionSettingsResponseSchema, ...errorResponses(...BODY_ERRORS, 401, 403, 404, 429, ...SERVER_ERRORS) },
      },
    },
    async (request) => {
      const { id } = request.params;
      await fastify.authorization.auctionFor(request.user, id);
      const { enableViewerAnalytics } = request.body;
      // Deleted between the check and the update: as if it had never been there.
      const updated = await fastify.auctions.setViewerAnalytics(new ObjectId(id), enableViewerAnalytics);
      if (updated === null) throw auctionNotFound(id);
      request.log.info({ auctionId: id, enableViewerAnalytics, by: request.user.sub }, 'viewer analytics setting changed');
      return { success: true as const, data: { enableViewerAnalytics: updated.enableViewerAnalytics } };
    },
  );
};

export default settings;
