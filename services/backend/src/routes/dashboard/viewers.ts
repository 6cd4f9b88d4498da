import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AuctionParamsSchema,
  MAX_VIEWER_POINTS,
  TIME_RANGE_MS,
  ViewerAnalyticsQuerySchema,
  ViewerAnalyticsResponseSchema,
} from '@viewer-analytics/shared';
import { viewerSeries } from '../../analytics/viewer-series.js';
import { errorResponses } from '../../schemas/error-responses.js';

export interface ViewersOptions {
  /** The snapshot window (SAMPLE_INTERVAL_MS × SAMPLES_PER_SNAPSHOT): the finest resolution of the series. */
  readonly windowMs: number;
}

/** The dashboard's view of an auction's stored snapshots: at most MAX_VIEWER_POINTS points, whatever the range holds. */
const viewers: FastifyPluginAsyncTypebox<ViewersOptions> = async (fastify, { windowMs }) => {
  fastify.get(
    '/auctions/:id/analytics/viewers',
    {
      schema: {
        summary: 'Viewer snapshots of an auction within a time range, oldest first',
        description: `One point per stored window while the range holds at most ${String(MAX_VIEWER_POINTS)}; beyond that, consecutive windows merged into buckets of bucketMs (downsampled: true), so the reply never exceeds ${String(MAX_VIEWER_POINTS)} points.`,
        params: AuctionParamsSchema,
        querystring: ViewerAnalyticsQuerySchema,
        response: { 200: ViewerAnalyticsResponseSchema, ...errorResponses(400, 403, 404) },
      },
    },
    async (request) => {
      const auction = await fastify.authorization.auctionFor(request.user, request.params.id);
      const range = request.query.timeRange ?? 'all';
      const now = Date.now();
      const within = range === 'all' ? undefined : { since: new Date(now - TIME_RANGE_MS[range]), until: new Date(now) };
      const series = await viewerSeries(fastify.viewerAnalytics.windows(auction._id, within), { windowMs, maxPoints: MAX_VIEWER_POINTS });
      return {
        success: true as const,
        data: { enabled: auction.enableViewerAnalytics, downsampled: series.downsampled, bucketMs: series.bucketMs, snapshots: series.points },
      };
    },
  );
};

export default viewers;
