import { Binary, ObjectId } from 'mongodb';
import fp from 'fastify-plugin';
import { Compile } from 'typebox/compile';
import {
  BatchSnapshotSchema,
  decodeVisitorSketch,
  MAX_BATCH_SNAPSHOTS,
  SnapshotRejection,
  snapshotInvariantViolation,
  snapshotKey,
  type BatchOutcome,
  type BatchSnapshot,
  type InvalidSnapshot,
  type InvariantViolation,
  type Snapshot,
  type SnapshotWindowRules,
  VisitorSketch,
} from '@viewer-analytics/shared';
import { windowMs, type BackendConfig } from '../../config.js';
import { GroupCommit } from '../../group-commit.js';
import type { SnapshotDocument } from './viewer-analytics-repository.js';

export interface SnapshotIngest {
  /**
   * Checks each item on its own (schema, invariants, window boundary, retention), stores the
   * valid ones in one bulk write, and reports the others by index: one bad item costs only itself.
   */
  ingest(items: readonly unknown[]): Promise<BatchOutcome>;
  /**
   * Stores one snapshot already checked, in the same bulk write as those that arrive while the
   * previous write is under way (group commit), and answers what became of it.
   */
  storeOne(snapshot: BatchSnapshot): Promise<StoreOutcome>;
  /** The rules JSON Schema cannot express, with this backend's window and retention; undefined when none is broken. */
  violation(snapshot: Snapshot, nowMs: number): InvariantViolation | undefined;
}

/** What became of one snapshot: stored, or why not. */
export type StoreOutcome = 'stored' | 'duplicate' | 'analytics_disabled' | 'unknown_auction';

declare module 'fastify' {
  interface FastifyInstance {
    snapshotIngest: SnapshotIngest;
  }
}

const batchSnapshot = Compile(BatchSnapshotSchema);
/** The most single snapshots one group write takes: the batch route's own limit. */
const MAX_GROUP = MAX_BATCH_SNAPSHOTS;
const DAY_MS = 86_400_000;

/** The first schema problem of an item, naming the field like the single route's 400 does. */
function schemaProblem(index: number, item: unknown): InvalidSnapshot {
  const [first] = batchSnapshot.Errors(item);
  const params = (first?.params ?? {}) as { requiredProperties?: string[]; additionalProperties?: string[] };
  const field = params.requiredProperties?.[0] ?? params.additionalProperties?.[0] ?? first?.instancePath.split('/')[1] ?? '';
  let message: string;
  if (field === '') message = 'the item must be an object';
  else if (first?.keyword === 'required') message = `${field} is required`;
  else if (first?.keyword === 'additionalProperties' || first?.keyword === 'boolean') message = `${field} is not allowed`;
  else message = `${field} ${first?.message ?? 'is invalid'}`;
  return { index, code: SnapshotRejection.invalid, field, message };
}

/**
 * Only the known fields, with real dates, ids and bytes: nothing else from the request reaches the
 * database. The sketch was checked (snapshotInvariantViolation); uniqueViewers comes from it when sent alone.
 */
function toDocument(snapshot: BatchSnapshot, auction: ObjectId, now: Date): SnapshotDocument {
  const timestamp = new Date(snapshot.timestamp);
  const visitors = snapshot.visitorSketch === undefined ? undefined : decodeVisitorSketch(snapshot.visitorSketch);
  // The check has made sure a count sent beside a sketch is the sketch's: only a lone sketch is counted here.
  const uniqueViewers = snapshot.uniqueViewers ?? (visitors === undefined ? undefined : VisitorSketch.fromBytes(visitors).estimate());
  return {
    _id: snapshotKey(auction.toHexString(), timestamp.getTime()),
    auction,
    timestamp,
    viewerCount: snapshot.viewerCount,
    avgViewers: snapshot.avgViewers,
    peakViewers: snapshot.peakViewers,
    minViewers: snapshot.minViewers,
    sampleCount: snapshot.sampleCount,
    ...(uniqueViewers === undefined ? {} : { uniqueViewers }),
    ...(visitors === undefined ? {} : { visitors: new Binary(visitors) }),
    createdAt: now,
    updatedAt: now,
  };
}

export default fp<{ config: BackendConfig }>(
  async (fastify, { config }) => {
    const rules: SnapshotWindowRules = { windowMs: windowMs(config), retentionMs: config.RETENTION_DAYS * DAY_MS };

    /**
     * Stores snapshots already checked, of auctions with viewer analytics on, in one bulk write
     * after one lookup of all their auctions; an outcome per snapshot, in order.
     */
    async function storeEach(snapshots: readonly BatchSnapshot[]): Promise<StoreOutcome[]> {
      if (snapshots.length === 0) return [];
      const auctionIds = new Set(snapshots.map(({ auctionId }) => auctionId.toLowerCase()));
      const enabled = await fastify.auctions.analyticsSettings([...auctionIds].map((id) => new ObjectId(id)));

      const now = new Date();
      const outcomes: StoreOutcome[] = [];
      const documents: SnapshotDocument[] = [];
      /** Where each document's snapshot is in `snapshots`. */
      const positions: number[] = [];
      snapshots.forEach((snapshot, position) => {
        const auctionId = snapshot.auctionId.toLowerCase();
        const analytics = enabled.get(auctionId);
        if (analytics === undefined) outcomes.push('unknown_auction');
        else if (!analytics) outcomes.push('analytics_disabled');
        else {
          outcomes.push('stored');
          documents.push(toDocument(snapshot, new ObjectId(auctionId), now));
          positions.push(position);
        }
      });
      const { stored, duplicates } = await fastify.viewerAnalytics.insertMany(documents);
      // Duplicates too: a retry after a crash between the two writes marks what the first attempt stored.
      await fastify.viewerHours.noteStored(documents, Date.now());
      for (const index of duplicates) {
        const position = positions[index];
        if (position !== undefined) outcomes[position] = 'duplicate';
      }

      fastify.metrics.snapshotsStored(stored);
      fastify.metrics.snapshotsSkipped('duplicate', duplicates.length);
      fastify.metrics.snapshotsSkipped('analytics_disabled', outcomes.filter((outcome) => outcome === 'analytics_disabled').length);
      fastify.metrics.snapshotsSkipped('unknown_auction', outcomes.filter((outcome) => outcome === 'unknown_auction').length);
      return outcomes;
    }
    const singles = new GroupCommit(storeEach, MAX_GROUP);

    const ingest: SnapshotIngest = {
      violation: (snapshot, nowMs) => snapshotInvariantViolation(snapshot, nowMs, rules),

      async ingest(items) {
        const now = Date.now();
        const valid: BatchSnapshot[] = [];
        const invalid: InvalidSnapshot[] = [];
        items.forEach((item, index) => {
          if (!batchSnapshot.Check(item)) {
            invalid.push(schemaProblem(index, item));
            return;
          }
          const violation = ingest.violation(item, now);
          if (violation === undefined) valid.push(item);
          else invalid.push({ index, ...violation });
        });
        for (const code of [SnapshotRejection.inFuture, SnapshotRejection.invalid]) {
          fastify.metrics.snapshotsInvalid(code, invalid.filter((item) => item.code === code).length);
        }
        const counts = { stored: 0, duplicates: 0, disabled: 0, unknown: 0 };
        for (const outcome of await storeEach(valid)) {
          if (outcome === 'stored') counts.stored += 1;
          else if (outcome === 'duplicate') counts.duplicates += 1;
          else if (outcome === 'analytics_disabled') counts.disabled += 1;
          else counts.unknown += 1;
        }
        return { ...counts, invalid };
      },

      storeOne: (snapshot) => singles.submit(snapshot),
    };
    fastify.decorate('snapshotIngest', ingest);
  },
  { name: 'snapshot-ingest', dependencies: ['auctions-repository', 'viewer-analytics-repository', 'viewer-hours', 'metrics'] },
);
