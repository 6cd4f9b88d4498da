import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ObjectId } from 'mongodb';
import Type from 'typebox';
import {
  AuctionParamsSchema,
  MAX_VIEWER_POINTS,
  TIME_RANGE_MS,
  VIEWER_CSV_COLUMNS,
  ViewerAnalyticsQuerySchema,
  ViewerAnalyticsResponseSchema,
  type ViewerAnalyticsQuery,
} from '@viewer-analytics/shared';
import { viewerCsv } from '../../analytics/viewer-csv.js';
import { HOUR_MS } from '../../analytics/hour-figures.js';
import { collect, type SeriesWindow } from '../../analytics/range-summary.js';
import { seriesBucket, seriesNeedsWindows, viewerSeries, type ViewerSeries } from '../../analytics/viewer-series.js';
import { ValidationError } from '../../http-error.js';
import { keyedWindowStarts } from '../../plugins/app/viewer-analytics-repository.js';
import { hourSpan } from '../../plugins/app/viewer-hours.js';
import { errorResponses } from '../../schemas/error-responses.js';

export interface ViewersOptions {
  /** The snapshot window (SAMPLE_INTERVAL_MS × SAMPLES_PER_SNAPSHOT): the finest resolution of the series. */
  readonly windowMs: number;
  /** What one sample stands for in viewer-minutes. */
  readonly sampleIntervalMs: number;
}

type Range = { readonly since: Date; readonly until: Date } | undefined;

/** The windows asked for: timeRange back from `now`, or from (inclusive) to (exclusive); all when neither. */
function rangeOf({ timeRange, from, to }: ViewerAnalyticsQuery, now: number): Range {
  if (from === undefined && to === undefined) {
    const range = timeRange ?? 'all';
    return range === 'all' ? undefined : { since: new Date(now - TIME_RANGE_MS[range]), until: new Date(now) };
  }
  if (timeRange !== undefined) throw new ValidationError('querystring/timeRange', 'is not allowed with from and to');
  if (from === undefined) throw new ValidationError('querystring/from', 'is required with to');
  if (to === undefined) throw new ValidationError('querystring/to', 'is required with from');
  const since = new Date(from);
  const until = new Date(to);
  if (until.getTime() <= since.getTime()) throw new ValidationError('querystring/to', 'must be later than from');
  // The repository's bound is inclusive; `to` is not.
  return { since, until: new Date(until.getTime() - 1) };
}

/** Whether the client asked for CSV: `format=csv`, or `Accept: text/csv` unless format says json. */
function wantsCsv(format: ViewerAnalyticsQuery['format'], accept: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return (accept ?? '').split(',').some((type) => type.split(';', 1)[0]?.trim().toLowerCase() === 'text/csv');
}

/** The dashboard's view of an auction's stored snapshots: at most MAX_VIEWER_POINTS points, whatever the range holds, or all of them as CSV. */
const viewers: FastifyPluginAsyncTypebox<ViewersOptions> = async (fastify, { windowMs, sampleIntervalMs }) => {
  const seriesOptions = { windowMs, sampleIntervalMs, maxPoints: MAX_VIEWER_POINTS };
  /** `all`: every window stored until now. */
  const everything = (): { since: Date; until: Date } => ({ since: new Date(0), until: new Date() });

  /**
   * The auction's windows in the range, oldest first (the CSV's rows): a short range by key from
   * the snapshots, a longer one (or all) from the hour copies, which FerretDB reads without
   * scanning every snapshot.
   */
  async function windowsOf(auction: ObjectId, range: Range): Promise<AsyncIterable<SeriesWindow>> {
    const starts = range === undefined ? undefined : keyedWindowStarts(range, windowMs);
    if (starts !== undefined) return fastify.viewerAnalytics.windowsAt(auction, starts);
    const found = (await fastify.viewerHours.windows([auction], range ?? everything())).get(auction.toHexString()) ?? [];
    return (async function* () {
      yield* found;
    })();
  }

  /**
   * The JSON series: a short range from its windows by key; a longer one's settled hours from their
   * figures when the buckets come out whole quarter hours (a 30-day chart reads no window of them),
   * else from every hour's windows.
   */
  async function seriesOf(auction: ObjectId, range: Range): Promise<ViewerSeries> {
    const starts = range === undefined ? undefined : keyedWindowStarts(range, windowMs);
    if (starts !== undefined) {
      return viewerSeries([{ hour: starts[0] ?? 0, windows: await collect(fastify.viewerAnalytics.windowsAt(auction, starts)) }], seriesOptions);
    }
    const hex = auction.toHexString();
    const slices = (await fastify.viewerHours.slices([auction], range ?? everything())).get(hex) ?? [];
    const bucketMs = seriesBucket(slices, seriesOptions);
    if (!seriesNeedsWindows(slices, bucketMs)) return viewerSeries(slices, seriesOptions, bucketMs);
    // The hours given as figures are consecutive whole settled hours: their windows come from the copies.
    const { first, last } = hourSpan(slices.flatMap((slice) => ('figures' in slice ? [slice.hour] : [])));
    const settled = (await fastify.viewerHours.windows([auction], { since: new Date(first), until: new Date(last + HOUR_MS - 1) })).get(hex) ?? [];
    const windowed = [...slices.filter(({ hour }) => hour < first), { hour: first, windows: settled }, ...slices.filter(({ hour }) => hour > last)];
    return viewerSeries(windowed, seriesOptions, bucketMs);
  }

  fastify.get(
    '/auctions/:id/analytics/viewers',
    {
      schema: {
        summary: 'Viewer snapshots of an auction within a time range, oldest first, with the range summary (JSON) or every stored window (CSV)',
        description:
          `JSON: one point per stored window while the range holds at most ${String(MAX_VIEWER_POINTS)}; beyond that, consecutive windows merged into buckets of bucketMs (downsampled: true), so the reply never exceeds ${String(MAX_VIEWER_POINTS)} points; \`summary\` is computed from every window of the range. ` +
          `CSV (\`format=csv\` or \`Accept: text/csv\`): every stored window, never merged, streamed as text/csv with the columns ${VIEWER_CSV_COLUMNS.join(', ')} (an empty cell when unknown). ` +
          'The range: timeRange back from now, or from (inclusive) and to (exclusive), or everything.',
        params: AuctionParamsSchema,
        querystring: ViewerAnalyticsQuerySchema,
        response: {
          200: {
            description: 'The points and summary (JSON), or every stored window of the range (CSV)',
            content: {
              'application/json': { schema: ViewerAnalyticsResponseSchema },
              'text/csv': { schema: Type.String({ description: `Header ${VIEWER_CSV_COLUMNS.join(',')}, then a row per stored window, oldest first` }) },
            },
          },
          ...errorResponses(400, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const within = rangeOf(request.query, Date.now());
      const auction = await fastify.authorization.auctionFor(request.user, request.params.id);

      if (wantsCsv(request.query.format, request.headers.accept)) {
        const iterator = (await windowsOf(auction._id, within))[Symbol.asyncIterator]();
        // The first read before any byte: a database that is down still gets its 503.
        const first = await iterator.next();
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="auction-${auction._id.toHexString()}-viewers.csv"`)
          // The reply's type knows the schema's string, not a stream of it; Fastify sends a stream as it comes.
          .send(Readable.from(viewerCsv(first, iterator, sampleIntervalMs)) as unknown as string);
      }

      const series = await seriesOf(auction._id, within);
      return {
        success: true as const,
        data: {
          enabled: auction.enableViewerAnalytics,
          downsampled: series.downsampled,
          bucketMs: series.bucketMs,
          snapshots: series.points,
          summary: series.summary,
        },
      };
    },
  );
};

export default viewers;
