import Type from 'typebox';
import { SuccessSchema } from './envelope.js';
import { MAX_VIEWER_COUNT } from './snapshot.js';

export const TIME_RANGES = ['all', '1h', '6h', '24h', '7d', '30d', '90d'] as const;
export type TimeRange = (typeof TIME_RANGES)[number];

const HOUR_MS = 3_600_000;
/** How far back each time range reaches; `all` has no bound. */
export const TIME_RANGE_MS: Readonly<Record<Exclude<TimeRange, 'all'>, number>> = {
  '1h': HOUR_MS,
  '6h': 6 * HOUR_MS,
  '24h': 24 * HOUR_MS,
  '7d': 7 * 24 * HOUR_MS,
  '30d': 30 * 24 * HOUR_MS,
  '90d': 90 * 24 * HOUR_MS,
};

/** Reply formats of the viewers route: JSON points, or every stored window as CSV. */
export const VIEWER_FORMATS = ['json', 'csv'] as const;

export const ViewerAnalyticsQuerySchema = Type.Object(
  {
    // An enum, not a union of literals built with map(): that union's static type was `undefined`.
    // No schema default: `all` applies only when neither timeRange nor from/to is given.
    timeRange: Type.Optional(Type.Enum(TIME_RANGES, { description: 'How far back from now; `all` when neither this nor from/to is given' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Windows starting at or after this instant (with `to`, instead of timeRange)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Windows starting before this instant (with `from`; later than `from`)' })),
    format: Type.Optional(
      Type.Enum(VIEWER_FORMATS, { description: '`csv`: every stored window of the range as CSV, streamed (as does the header `Accept: text/csv`)' }),
    ),
  },
  { additionalProperties: false },
);
export type ViewerAnalyticsQuery = Type.Static<typeof ViewerAnalyticsQuerySchema>;

/**
 * The most points the dashboard route answers with: enough for a chart as wide as a screen, and a
 * reply of about 200 KB however many windows the range holds.
 */
export const MAX_VIEWER_POINTS = 1_500;

const viewers = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_VIEWER_COUNT, description });

/** One point of the dashboard's series: one stored window, or consecutive windows merged. */
export const ViewerPointSchema = Type.Object({
  timestamp: Type.String({ format: 'date-time', description: 'Start of the first window in the point (UTC)' }),
  viewerCount: viewers('The last sample of the last window in the point'),
  avgViewers: Type.Number({
    minimum: 0,
    maximum: MAX_VIEWER_COUNT,
    description: 'Mean of all the samples in the point: window averages weighted by their sampleCount',
  }),
  peakViewers: viewers('Largest sample in the point'),
  minViewers: viewers('Smallest sample in the point'),
  sampleCount: Type.Integer({ minimum: 1, description: 'Samples in the point, summed over its windows' }),
  viewerMinutes: Type.Number({ minimum: 0, description: 'Watch time in the point: Σ samples × SAMPLE_INTERVAL_MS / 60,000 (each sample counts its viewers for one interval)' }),
  uniqueViewers: Type.Optional(
    Type.Integer({ minimum: 0, description: "Distinct visitors in the point: its windows' visitor sketches merged; absent when none of its windows has one" }),
  ),
});
export type ViewerPoint = Type.Static<typeof ViewerPointSchema>;

/** Figures over a whole range, computed from every stored window in it (never from the downsampled points). */
export const ViewerSummarySchema = Type.Object({
  snapshots: Type.Integer({ minimum: 0, description: 'Stored windows in the range' }),
  peakViewers: viewers('Largest sample in the range (0 without snapshots)'),
  peakAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'Start of the first window holding the peak; null without snapshots',
  }),
  avgViewers: Type.Number({ minimum: 0, maximum: MAX_VIEWER_COUNT, description: 'Mean of every sample in the range (window averages weighted by sampleCount)' }),
  minViewers: viewers('Smallest sample in the range (0 without snapshots)'),
  durationMs: Type.Integer({ minimum: 0, description: 'From the start of the first window to the end of the last' }),
  viewerMinutes: Type.Number({ minimum: 0, description: 'Watch time in the range: Σ samples × SAMPLE_INTERVAL_MS / 60,000' }),
  uniqueViewers: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'Distinct visitors in the range from the merged visitor sketches of its windows; null when none has one',
  }),
  avgWatchMinutes: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
    description: 'viewerMinutes / uniqueViewers; null when uniqueViewers is null or 0',
  }),
});
export type ViewerSummary = Type.Static<typeof ViewerSummarySchema>;

export const ViewerAnalyticsSchema = Type.Object({
  enabled: Type.Boolean({ description: 'Whether the auction stores viewer analytics now' }),
  downsampled: Type.Boolean({
    description: `Whether the range holds more windows than ${String(MAX_VIEWER_POINTS)}, so consecutive windows were merged into points of bucketMs`,
  }),
  bucketMs: Type.Integer({
    minimum: 1,
    description: 'Time one point covers: the window length (SAMPLE_INTERVAL_MS × SAMPLES_PER_SNAPSHOT) unless downsampled, else the shortest that leaves at most ' +
      `${String(MAX_VIEWER_POINTS)} points of: the window times 2, 5, 10, 20… below 15 minutes, then 15 minutes times a power of two; buckets start at multiples of it since the epoch`,
  }),
  snapshots: Type.Array(ViewerPointSchema, { maxItems: MAX_VIEWER_POINTS, description: 'Oldest first' }),
  summary: ViewerSummarySchema,
});
export type ViewerAnalytics = Type.Static<typeof ViewerAnalyticsSchema>;
export const ViewerAnalyticsResponseSchema = SuccessSchema(ViewerAnalyticsSchema);

/** The CSV export's columns, in order: a stored window per row, oldest first; an empty cell when unknown. */
export const VIEWER_CSV_COLUMNS = [
  'timestamp',
  'viewerCount',
  'avgViewers',
  'peakViewers',
  'minViewers',
  'sampleCount',
  'viewerMinutes',
  'uniqueViewers',
] as const;
