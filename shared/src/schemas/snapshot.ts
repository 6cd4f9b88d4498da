import Type from 'typebox';
import { ErrorCode, SuccessSchema } from './envelope.js';
import { ObjectIdSchema } from './ids.js';
import { VISITOR_SKETCH_MAX_BYTES, VisitorSketch } from '../visitor-sketch.js';

/** The most samples one snapshot can hold: a minute of 5-second samples. */
export const MAX_SAMPLES_PER_SNAPSHOT = 12;
/** The most snapshots one batch request may carry. */
export const MAX_BATCH_SNAPSHOTS = 5_000;
/** How far ahead of the backend's clock a snapshot's window may start. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;
/**
 * The largest viewer count (and average) a snapshot may carry. Far above any real audience (one
 * socket process holds about 19,000 viewers), so only a bug or a forged request sends more; and
 * sums stay exact: a year of full windows at this bound (10⁷ × 12 × 525,600 ≈ 6.3 × 10¹³) is far
 * below 2⁵³, so averages weighted by samples never lose precision.
 */
export const MAX_VIEWER_COUNT = 10_000_000;

const count = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_VIEWER_COUNT, description });

const snapshotFields = {
  timestamp: Type.String({
    format: 'date-time',
    description:
      'Start of the window (UTC): a multiple of the window length (SAMPLE_INTERVAL_MS × SAMPLES_PER_SNAPSHOT, 60 s by default) since the epoch, within the retention period (RETENTION_DAYS) and not more than 5 minutes ahead',
  }),
  viewerCount: count('The last sample of the window'),
  avgViewers: Type.Number({ minimum: 0, maximum: MAX_VIEWER_COUNT, description: 'Sum of samples / sampleCount' }),
  peakViewers: count('Largest sample of the window'),
  minViewers: count('Smallest sample of the window'),
  sampleCount: Type.Integer({
    minimum: 1,
    maximum: MAX_SAMPLES_PER_SNAPSHOT,
    description: 'Samples taken in the window (12 for a full minute)',
  }),
  uniqueViewers: Type.Optional(
    count('Distinct visitors seen in the window, whole cluster (may exceed peakViewers); must equal the estimate of visitorSketch when both are sent'),
  ),
  visitorSketch: Type.Optional(
    Type.String({
      // Standard base64 of at most VISITOR_SKETCH_MAX_BYTES bytes.
      maxLength: 4 * Math.ceil(VISITOR_SKETCH_MAX_BYTES / 3),
      pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
      contentEncoding: 'base64',
      description:
        "The window's visitor sketch (base64): the distinct visitors' salted 32-bit hashes while few, HyperLogLog registers beyond; mergeable into an auction's uniques over any range",
    }),
  ),
};

/** Body of the spec's single-snapshot route. */
export const SnapshotSchema = Type.Object(snapshotFields, { additionalProperties: false });
export type Snapshot = Type.Static<typeof SnapshotSchema>;

export const BatchSnapshotSchema = Type.Object(
  { auctionId: ObjectIdSchema, ...snapshotFields },
  { additionalProperties: false },
);
export type BatchSnapshot = Type.Static<typeof BatchSnapshotSchema>;

/**
 * Body of the batch route. Only its shape is checked as a whole; each item is checked on its own
 * against BatchSnapshotSchema, so that one bad item does not cost the others.
 */
export const BatchSnapshotsBodySchema = Type.Object(
  {
    snapshots: Type.Array(
      Type.Unknown({ description: 'A BatchSnapshot: auctionId plus the fields of the single-snapshot body' }),
      { minItems: 1, maxItems: MAX_BATCH_SNAPSHOTS },
    ),
  },
  { additionalProperties: false },
);
export type BatchSnapshotsBody = Type.Static<typeof BatchSnapshotsBodySchema>;

export const SnapshotNotStoredReason = Type.Union([Type.Literal('duplicate'), Type.Literal('analytics_disabled')]);

export const SnapshotStoredResponseSchema = SuccessSchema(Type.Object({ stored: Type.Literal(true) }));
export const SnapshotNotStoredResponseSchema = SuccessSchema(
  Type.Object({ stored: Type.Literal(false), reason: SnapshotNotStoredReason }),
);

/**
 * Why a snapshot was refused. `SNAPSHOT_IN_FUTURE`: its window starts more than 5 minutes ahead of
 * the backend's clock; the sender's clock is ahead, so it may send it again later.
 * `INVALID_SNAPSHOT`: anything else; final, sending it again cannot help.
 */
export const SnapshotRejection = {
  inFuture: ErrorCode.snapshotInFuture,
  invalid: ErrorCode.invalidSnapshot,
} as const;
export type SnapshotRejection = (typeof SnapshotRejection)[keyof typeof SnapshotRejection];

export const InvalidSnapshotSchema = Type.Object({
  index: Type.Integer({ minimum: 0, description: 'Position of the item in `snapshots`' }),
  code: Type.Enum([SnapshotRejection.inFuture, SnapshotRejection.invalid], {
    description: 'SNAPSHOT_IN_FUTURE: may be sent again later; INVALID_SNAPSHOT: final',
  }),
  field: Type.String({ description: 'The field at fault; empty when the item as a whole is wrong (not an object)' }),
  message: Type.String({ description: 'What is wrong, for people' }),
});
export type InvalidSnapshot = Type.Static<typeof InvalidSnapshotSchema>;

export const BatchOutcomeSchema = Type.Object({
  stored: Type.Integer({ minimum: 0, description: 'Snapshots stored now' }),
  duplicates: Type.Integer({ minimum: 0, description: 'Snapshots already stored before (a retry): nothing written' }),
  disabled: Type.Integer({ minimum: 0, description: 'Snapshots of auctions with viewer analytics off: not stored' }),
  unknown: Type.Integer({ minimum: 0, description: 'Snapshots of auctions that do not exist: not stored' }),
  invalid: Type.Array(InvalidSnapshotSchema, {
    description: 'Items refused, by index (empty when none): not stored, the rest of the batch was',
  }),
});
export type BatchOutcome = Type.Static<typeof BatchOutcomeSchema>;
export const BatchSnapshotsResponseSchema = SuccessSchema(BatchOutcomeSchema);

export interface InvariantViolation {
  readonly field: keyof Snapshot;
  readonly code: SnapshotRejection;
  readonly message: string;
}

/** Where a window may start, from the backend's configuration. */
export interface SnapshotWindowRules {
  /** SAMPLE_INTERVAL_MS × SAMPLES_PER_SNAPSHOT: a timestamp must be a multiple of it since the epoch (UTC). */
  readonly windowMs: number;
  /** RETENTION_DAYS in ms: an older window would only be stored to be purged. */
  readonly retentionMs: number;
}

/**
 * The rules JSON Schema cannot say: min ≤ avg ≤ peak, min ≤ viewerCount ≤ peak, and a window
 * that does not start more than five minutes in the future; with `window`, also a window that
 * starts on a boundary and within the retention period. The backend checks them on every snapshot
 * it receives (the socket server makes snapshots that keep them by construction).
 */
export function snapshotInvariantViolation(
  snapshot: Snapshot,
  nowMs: number,
  window?: SnapshotWindowRules,
): InvariantViolation | undefined {
  const invalid = (field: keyof Snapshot, message: string): InvariantViolation => ({ field, code: SnapshotRejection.invalid, message });
  const { minViewers: min, peakViewers: peak, avgViewers: avg, viewerCount } = snapshot;
  if (min > peak) return invalid('minViewers', `minViewers (${min}) must not exceed peakViewers (${peak})`);
  if (avg < min || avg > peak) {
    return invalid('avgViewers', `avgViewers (${avg}) must lie between minViewers (${min}) and peakViewers (${peak})`);
  }
  if (viewerCount < min || viewerCount > peak) {
    return invalid('viewerCount', `viewerCount (${viewerCount}) must lie between minViewers (${min}) and peakViewers (${peak})`);
  }
  if (snapshot.visitorSketch !== undefined) {
    let sketch: VisitorSketch;
    try {
      sketch = VisitorSketch.fromBytes(decodeVisitorSketch(snapshot.visitorSketch));
    } catch (error) {
      return invalid('visitorSketch', `visitorSketch is corrupt: ${error instanceof Error ? error.message : String(error)}`);
    }
    const estimate = sketch.estimate();
    if (snapshot.uniqueViewers !== undefined && snapshot.uniqueViewers !== estimate) {
      return invalid('uniqueViewers', `uniqueViewers (${String(snapshot.uniqueViewers)}) must equal the estimate of visitorSketch (${String(estimate)})`);
    }
  }
  const at = Date.parse(snapshot.timestamp);
  if (Number.isNaN(at)) return invalid('timestamp', 'timestamp must be an ISO 8601 date-time');
  if (at > nowMs + MAX_FUTURE_SKEW_MS) {
    return { field: 'timestamp', code: SnapshotRejection.inFuture, message: 'timestamp must not be more than 5 minutes in the future' };
  }
  if (window === undefined) return undefined;
  if (at < nowMs - window.retentionMs) {
    return invalid('timestamp', `timestamp is older than the retention period (${String(window.retentionMs / 86_400_000)} days)`);
  }
  if (at % window.windowMs !== 0) {
    return invalid('timestamp', `timestamp must start a window: a multiple of ${String(window.windowMs)} ms since 1970-01-01T00:00:00Z`);
  }
  return undefined;
}

/** The bytes of a `visitorSketch` (standard base64, as the schema's pattern admits); atob works in browsers and Node alike. */
export function decodeVisitorSketch(base64: string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
