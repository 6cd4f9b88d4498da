import { ObjectId } from 'mongodb';
import fp from 'fastify-plugin';
import { snapshotInvariantViolation, type BatchOutcome, type BatchSnapshot, type Snapshot } from '@viewer-analytics/shared';
import { validationError } from '../../http-error.js';
import type { SnapshotDocument } from './viewer-analytics-repository.js';

export interface SnapshotIngest {
  /**
   * Stores the snapshots of auctions with viewer analytics on, in one bulk write after one
   * lookup of all their auctions, and counts what it did with each. The snapshots must have
   * passed `assertSnapshotInvariants`.
   */
  ingest(snapshots: readonly BatchSnapshot[]): Promise<BatchOutcome>;
}

declare module 'fastify' {
  interface FastifyInstance {
    snapshotIngest: SnapshotIngest;
  }
}

/** The rules JSON Schema cannot express (shared with the socket server), as a 400 naming the field under `path`. */
export function assertSnapshotInvariants(snapshot: Snapshot, nowMs: number, path: string): void {
  const violation = snapshotInvariantViolation(snapshot, nowMs);
  if (violation !== undefined) throw validationError(`${path}/${violation.field}`, violation.message);
}

/** Only the known fields, with real dates and ids: nothing else from the request reaches the database. */
function toDocument(snapshot: BatchSnapshot, auction: ObjectId, now: Date): SnapshotDocument {
  return {
    auction,
    timestamp: new Date(snapshot.timestamp),
    viewerCount: snapshot.viewerCount,
    avgViewers: snapshot.avgViewers,
    peakViewers: snapshot.peakViewers,
    minViewers: snapshot.minViewers,
    sampleCount: snapshot.sampleCount,
    createdAt: now,
    updatedAt: now,
  };
}

export default fp(
  async (fastify) => {
    fastify.decorate('snapshotIngest', {
      async ingest(snapshots) {
        const auctionIds = new Set(snapshots.map(({ auctionId }) => auctionId.toLowerCase()));
        const enabled = await fastify.auctions.analyticsSettings([...auctionIds].map((id) => new ObjectId(id)));

        const now = new Date();
        const documents: SnapshotDocument[] = [];
        let disabled = 0;
        let unknown = 0;
        for (const snapshot of snapshots) {
          const auctionId = snapshot.auctionId.toLowerCase();
          const analytics = enabled.get(auctionId);
          if (analytics === undefined) unknown += 1;
          else if (!analytics) disabled += 1;
          else documents.push(toDocument(snapshot, new ObjectId(auctionId), now));
        }
        const { stored, duplicates } = await fastify.viewerAnalytics.insertMany(documents);

        fastify.metrics.snapshotsStored(stored);
        fastify.metrics.snapshotsSkipped('duplicate', duplicates);
        fastify.metrics.snapshotsSkipped('analytics_disabled', disabled);
        fastify.metrics.snapshotsSkipped('unknown_auction', unknown);
        return { stored, duplicates, disabled, unknown };
      },
    } satisfies SnapshotIngest);
  },
  { name: 'snapshot-ingest', dependencies: ['auctions-repository', 'viewer-analytics-repository', 'metrics'] },
);
