import Type from 'typebox';
import { TIME_RANGES, ViewerSummarySchema } from './analytics.js';
import { SuccessSchema } from './envelope.js';
import { ObjectIdSchema } from './ids.js';
import { MAX_VIEWER_COUNT } from './snapshot.js';

/*
 * An owner's view over many auctions: the overview (one row per auction) and the "when do people
 * watch" heatmap. Both cover the caller's auctions; an admin's cover every auction, or one owner's.
 */

/** The time ranges the overview and heatmap take: the viewers route's, without `all`. */
export const INSIGHT_TIME_RANGES = TIME_RANGES.filter((range): range is Exclude<(typeof TIME_RANGES)[number], 'all'> => range !== 'all');

const ownerId = Type.Optional(
  Type.String({ minLength: 1, maxLength: 128, description: "Only this owner's auctions; anyone but an admin may name only itself (else 403)" }),
);
const timeRange = Type.Optional(Type.Enum(INSIGHT_TIME_RANGES, { default: '30d', description: 'How far back from now' }));

export const OverviewQuerySchema = Type.Object({ timeRange, ownerId }, { additionalProperties: false });
export type OverviewQuery = Type.Static<typeof OverviewQuerySchema>;

/** The viewers route's summary fields the overview shows, described once there. */
const { snapshots, peakViewers, peakAt, avgViewers, viewerMinutes, uniqueViewers } = ViewerSummarySchema.properties;

export const AuctionOverviewSchema = Type.Object({
  id: ObjectIdSchema,
  title: Type.String(),
  ownerId: Type.String(),
  enableViewerAnalytics: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  snapshots,
  peakViewers,
  peakAt,
  avgViewers,
  viewerMinutes,
  uniqueViewers,
  lastSnapshotAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Start of the newest window in the range' }),
});
export type AuctionOverview = Type.Static<typeof AuctionOverviewSchema>;

export const OverviewSchema = Type.Object({
  auctions: Type.Array(AuctionOverviewSchema, { description: 'Newest created first' }),
});
export type Overview = Type.Static<typeof OverviewSchema>;
export const OverviewResponseSchema = SuccessSchema(OverviewSchema);

export const HeatmapQuerySchema = Type.Object(
  {
    timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone the hours are local to, e.g. Europe/Berlin (400 when unknown)' }),
    timeRange,
    ownerId,
  },
  { additionalProperties: false },
);
export type HeatmapQuery = Type.Static<typeof HeatmapQuerySchema>;

export const HEATMAP_CELLS = 7 * 24;

export const HeatmapCellSchema = Type.Object({
  dayOfWeek: Type.Integer({ minimum: 0, maximum: 6, description: '0 = Monday … 6 = Sunday, local' }),
  hour: Type.Integer({ minimum: 0, maximum: 23, description: 'Local hour of day' }),
  avgViewers: Type.Number({ minimum: 0, maximum: MAX_VIEWER_COUNT, description: 'Mean of every sample of the windows starting in this local weekday and hour (0 when none)' }),
  windows: Type.Integer({ minimum: 0, description: 'Stored windows starting in this local weekday and hour' }),
});
export type HeatmapCell = Type.Static<typeof HeatmapCellSchema>;

export const HeatmapSchema = Type.Object({
  timeZone: Type.String(),
  cells: Type.Array(HeatmapCellSchema, {
    minItems: HEATMAP_CELLS,
    maxItems: HEATMAP_CELLS,
    description: 'Always 168: Monday 0h first, then hour by hour, day by day',
  }),
});
export type Heatmap = Type.Static<typeof HeatmapSchema>;
export const HeatmapResponseSchema = SuccessSchema(HeatmapSchema);
