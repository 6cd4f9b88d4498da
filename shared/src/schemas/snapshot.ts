import Type from 'typebox';
import { SuccessSchema } from './envelope.js';
import { ObjectIdSchema } from './ids.js';

/** The most samples one snapshot can hold: a minute of 5-second samples. */
export const MAX_SAMPLES_PER_SNAPSHOT = 12;
/** The most snapshots one batch request may carry. */
export const MAX_BATCH_SNAPSHOTS = 5_000;
/** How far ahead of the backend's clock a snapshot's window may start. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

const count = (description: string) => Type.Integer({ minimum: 0, description });

const snapshotFields = {
  timestamp: Type.String({
    format: 'date-time',
    description: 'Start of the window (UTC), aligned to the window length',
  }),
  viewerCount: count('The last sample of the window'),
  avgViewers: Type.Number({ minimum: 0, description: 'Sum of samples / sampleCount' }),
  peakViewers: count('Largest sample of the window'),
  minViewers: count('Smallest sample of the window'),
  sampleCount: Type.Integer({
    minimum: 1,
    maximum: MAX_SAMPLES_PER_SNAPSHOT,
    description: 'Samples taken in the window (12 for a full minute)',
  }),
};

/** Body of the spec's single-snapshot route. */
export const SnapshotSchema = Type.Object(snapshotFields, { additionalProperties: false });
export type Snapshot = Type.Static<typeof SnapshotSchema>;

export const BatchSnapshotSchema = Type.Object(
  { auctionId: ObjectIdSchema, ...snapshotFields },
  { additionalProperties: false },
);
export type BatchSnapshot = Type.Static<typeof BatchSnapshotSchema>;

export const BatchSnapshotsBodySchema = Type.Object(
  { snapshots: Type.Array(BatchSnapshotSchema, { minItems: 1, maxItems: MAX_BATCH_SNAPSHOTS }) },
  { additionalProperties: false },
);
export type BatchSnapshotsBody = Type.Static<typeof BatchSnapshotsBodySchema>;

export const SnapshotNotStoredReason = Type.Union([Type.Literal('duplicate'), Type.Literal('analytics_disabled')]);

export const SnapshotStoredResponseSchema = SuccessSchema(Type.Object({ stored: Type.Literal(true) }));
export const SnapshotNotStoredResponseSchema = SuccessSchema(
  Type.Object({ stored: Type.Literal(false), reason: SnapshotNotStoredReason }),
);

/** Why the batch route refused one item; the other items of the batch are stored as usual. */
export const SnapshotRejection = {
  /** The window starts more than 5 minutes after the backend's clock: the sender's clock is ahead. Send it again later. */
  inFuture: 'SNAPSHOT_IN_FUTURE',
  /** Anything else wrong with the item: final, sending it again cannot help. */
  invalid: 'INVALID_SNAPSHOT',
} as const;

export const InvalidSnapshotSchema = Type.Object({
  index: Type.Integer({ minimum: 0, description: 'Position of the item in the request' }),
  code: Type.Union([Type.Literal(SnapshotRejection.inFuture), Type.Literal(SnapshotRejection.invalid)]),
  field: Type.String({ description: 'The offending field, as a JSON pointer into the item' }),
  message: Type.String(),
});
export type InvalidSnapshot = Type.Static<typeof InvalidSnapshotSchema>;

export const BatchOutcomeSchema = Type.Object({
  stored: count('Snapshots stored now'),
  duplicates: count('Snapshots already stored before (a retry): nothing written'),
  disabled: count('Snapshots of auctions with viewer analytics off: not stored'),
  unknown: count('Snapshots of auctions that do not exist: not stored'),
  invalid: Type.Array(InvalidSnapshotSchema, { description: 'Items refused, by index; every other item was handled' }),
});
export type BatchOutcome = Type.Static<typeof BatchOutcomeSchema>;
export const BatchSnapshotsResponseSchema = SuccessSchema(BatchOutcomeSchema);

/** A stored snapshot as the dashboard reads it. */
export const StoredSnapshotSchema = Type.Object(snapshotFields);
export type StoredSnapshot = Type.Static<typeof StoredSnapshotSchema>;

export interface InvariantViolation {
  readonly field: keyof Snapshot;
  readonly message: string;
}

/**
 * The rules JSON Schema cannot say: min ≤ avg ≤ peak, min ≤ viewerCount ≤ peak, and a window
 * that does not start more than five minutes in the future. Both services check them.
 */
export function snapshotInvariantViolation(snapshot: Snapshot, nowMs: number): InvariantViolation | undefined {
  const { minViewers: min, peakViewers: peak, avgViewers: avg, viewerCount } = snapshot;
  if (min > peak) return { field: 'minViewers', message: `minViewers (${min}) must not exceed peakViewers (${peak})` };
  if (avg < min || avg > peak) {
    return { field: 'avgViewers', message: `avgViewers (${avg}) must lie between minViewers (${min}) and peakViewers (${peak})` };
  }
  if (viewerCount < min || viewerCount > peak) {
    return {
      field: 'viewerCount',
      message: `viewerCount (${viewerCount}) must lie between minViewers (${min}) and peakViewers (${peak})`,
    };
  }
  const at = Date.parse(snapshot.timestamp);
  if (Number.isNaN(at)) return { field: 'timestamp', message: 'timestamp must be an ISO 8601 date-time' };
  if (at > nowMs + MAX_FUTURE_SKEW_MS) {
    return { field: 'timestamp', message: 'timestamp must not be more than 5 minutes in the future' };
  }
  return undefined;
}
