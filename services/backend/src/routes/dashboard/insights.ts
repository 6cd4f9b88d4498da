import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  HeatmapQuerySchema,
  HeatmapResponseSchema,
  OverviewQuerySchema,
  OverviewResponseSchema,
  TIME_RANGE_MS,
  type TokenClaims,
} from '@viewer-analytics/shared';
import { HeatmapGrid, isTimeZone, overviewRow } from '../../analytics/insights.js';
import { summaryOf, type HourSlice } from '../../analytics/hour-figures.js';
import type { SeriesOptions } from '../../analytics/range-summary.js';
import { ValidationError } from '../../http-error.js';
import { errorResponses } from '../../schemas/error-responses.js';

type InsightRange = keyof typeof TIME_RANGE_MS;

/** An owner's view over many auctions: one row per auction, and when people watch them. */
const insights: FastifyPluginAsyncTypebox<Pick<SeriesOptions, 'windowMs' | 'sampleIntervalMs'>> = async (fastify, options) => {
  /** The auctions the user may see (of `ownerId` if named), the range back from now, and the auctions to read (null: all). */
  async function scope(user: TokenClaims, ownerId: string | undefined, range: InsightRange) {
    const owner = fastify.authorization.ownerScope(user, ownerId);
    const auctions = await fastify.auctions.list(owner);
    const now = Date.now();
    const within = { since: new Date(now - TIME_RANGE_MS[range]), until: new Date(now) };
    // An admin's unfiltered view reads every auction's hours; anyone else's only those of its auctions.
    return { auctions, within, read: owner === undefined ? null : auctions.map(({ _id }) => _id) };
  }

  fastify.get(
    '/analytics/overview',
    {
      schema: {
        summary: "The caller's auctions (an admin's: every auction, or one owner's) with their figures over the range, newest created first",
        description:
          'Figures are computed from every stored window of the range, like the viewers route summary. Live counts are not here: the socket server answers them (GET /counts).',
        querystring: OverviewQuerySchema,
        response: { 200: OverviewResponseSchema, ...errorResponses(400, 403) },
      },
    },
    async (request) => {
      const { auctions, within, read } = await scope(request.user, request.query.ownerId, request.query.timeRange ?? '30d');
      const slices = auctions.length === 0 ? new Map<string, HourSlice[]>() : await fastify.viewerHours.slices(read, within);
      return {
        success: true as const,
        data: {
          auctions: auctions.map((auction) => {
            const id = auction._id.toHexString();
            return overviewRow({ ...auction, id }, summaryOf(slices.get(id) ?? [], options));
          }),
        },
      };
    },
  );

  fastify.get(
    '/analytics/heatmap',
    {
      schema: {
        summary: "When people watch: average viewers by local weekday and hour over the caller's auctions (an admin's: every auction, or one owner's)",
        description:
          "168 cells, Monday 0h first. A cell's average is the sample-weighted mean of the windows starting in that local weekday and hour, in the time zone given.",
        querystring: HeatmapQuerySchema,
        response: { 200: HeatmapResponseSchema, ...errorResponses(400, 403) },
      },
    },
    async (request) => {
      const { timeZone, ownerId, timeRange } = request.query;
      if (!isTimeZone(timeZone)) throw new ValidationError('querystring/timeZone', `${JSON.stringify(timeZone)} is not a known IANA time zone`);
      const { auctions, within, read } = await scope(request.user, ownerId, timeRange ?? '30d');
      const slices = auctions.length === 0 ? new Map<string, HourSlice[]>() : await fastify.viewerHours.slices(read, within);
      const grid = new HeatmapGrid(timeZone);
      for (const auctionSlices of slices.values()) grid.addSlices(auctionSlices);
      return { success: true as const, data: { timeZone, cells: grid.cells() } };
    },
  );
};

export default insights;
