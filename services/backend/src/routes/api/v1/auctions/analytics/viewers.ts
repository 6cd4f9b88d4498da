import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AuctionParamsSchema,
  TIME_RANGE_MS,
  ViewerAnalyticsQuerySchema,
  ViewerAnalyticsResponseSchema,
} from '@viewer-analytics/shared';
import { SECURITY } from '../../../../../plugins/external/swagger.js';
import { errorResponses, SERVER_ERRORS } from '../../../../../schemas/error-responses.js';

/** The dashboard's view of an auction's stored snapshots. */
const viewers: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/:id/analytics/viewers',
    {
      onRequest: fastify.authenticate,
      schema: {
        tags: ['analytics'],
        summary: 'Stored viewer snapshots of an auction within a time range, oldest first',
        security: [{ [SECURITY.bearer]: [] }],
        params: AuctionParamsSchema,
        querystring: ViewerAnalyticsQuerySchema,
        response: { 200: ViewerAnalyticsResponseSchema, ...errorResponses(400, 401, 403, 404, ...SERVER_ERRORS) },
      },
    },
    async (request) => {
      const auction = await fastify.authorization.auctionFor(request.user, request.params.id);
      const range = request.query.timeRange ?? 'all';
      const since = range === 'all' ? undefined : new Date(Date.now() - TIME_RANGE_MS[range]);
      const snapshots = await fastify.viewerAnalytics.findByAuction(auction._id, since);
      return {
        success: true as const,
        data: {
          enabled: auction.enableViewerAnalytics,
          snapshots: snapshots.map((snapshot) => ({
            timestamp: snapshot.timestamp.toISOString(),
            viewerCount: snapshot.viewerCount,
            avgViewers: snapshot.avgViewers,
            peakViewers: snapshot.peakViewers,
            minViewers: snapshot.minViewers,
            sampleCount: snapshot.sampleCount,
          })),
        },
      };
    },
  );
};

export default viewers;
