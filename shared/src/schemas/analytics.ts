import Type from 'typebox';
import { SuccessSchema } from './envelope.js';
import { StoredSnapshotSchema } from './snapshot.js';

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

export const ViewerAnalyticsQuerySchema = Type.Object(
  // An enum, not a union of literals built with map(): that union's static type was `undefined`.
  { timeRange: Type.Optional(Type.Enum(TIME_RANGES, { default: 'all' })) },
  { additionalProperties: false },
);
export type ViewerAnalyticsQuery = Type.Static<typeof ViewerAnalyticsQuerySchema>;

export const ViewerAnalyticsSchema = Type.Object({
  enabled: Type.Boolean({ description: 'Whether the auction stores viewer analytics now' }),
  snapshots: Type.Array(StoredSnapshotSchema, { description: 'Oldest first' }),
});
export type ViewerAnalytics = Type.Static<typeof ViewerAnalyticsSchema>;
export const ViewerAnalyticsResponseSchema = SuccessSchema(ViewerAnalyticsSchema);
