import type { Collection, ObjectId } from 'mongodb';
import fp from 'fastify-plugin';
import { boundedMap } from '../../bounded-map.js';
import { onlyDuplicateKeys } from '../../database-errors.js';
import { createRetentionIndex, purgeInChunks, type RetentionIndex } from '../../database-retention.js';
import type { DatabaseAvailability } from './database-availability.js';
import type { SeriesWindow } from '../../analytics/range-summary.js';
import { snapshotKey, VIEWER_ANALYTICS_COLLECTION, type SnapshotDocument } from '@viewer-analytics/shared';

export type { SnapshotDocument };

/** A window with its auction, as a pass over every auction yields it. */
export interface AuctionWindow extends SeriesWindow {
  readonly auction: ObjectId;
}

export interface InsertOutcome {
  readonly stored: number;
  /** Positions (in the given order) of the snapshots whose auction and window were stored before: a retry, nothing written. */
  readonly duplicates: readonly number[];
}


export interface ViewerAnalyticsRepository {
  insertMany(snapshots: readonly SnapshotDocument[]): Promise<InsertOutcome>;
  /** The auction's windows that start at `starts` (oldest first), each looked up by key; those never stored are left out. */
  windowsAt(auction: ObjectId, starts: readonly number[]): AsyncIterable<SeriesWindow>;
  /**
   * Every window of every auction starting at or after `since` (and at or before `until` when
   * given), in no order: one pass over the collection, for when so many windows are wanted that
   * lookups by key would cost more.
   */
  windowsSince(since: Date, until?: Date): AsyncIterable<AuctionWindow>;
  /** Creates the `createdAt` index that enforces retention, TTL where the server has it. */
  ensureRetentionIndex(expireAfterSeconds: number): Promise<RetentionIndex>;
  /** Deletes snapshots created before `cutoff`, in chunks the server can take; returns how many. */
  purgeCreatedBefore(cutoff: Date): Promise<number>;
}

declare module 'fastify' {
  interface FastifyInstance {
    viewerAnalytics: ViewerAnalyticsRepository;
  }
}

/**
 * Ranges up to this many windows (6 hours of minutes) are read as one lookup by key per window:
 * on FerretDB 1.x a range query scans every snapshot stored (1 s at 10,000), while a lookup by
 * key is an index search; on MongoDB, where the range query is an index scan too, 360 lookups
 * still cost milliseconds.
 */
export const KEYED_READ_WINDOWS = 360;

/** The window starts within `range` (bounds included) when they are at most KEYED_READ_WINDOWS, else undefined. */
export function keyedWindowStarts(range: { readonly since: Date; readonly until: Date }, windowMs: number): number[] | undefined {
  const first = Math.ceil(range.since.getTime() / windowMs) * windowMs;
  const count = Math.floor((range.until.getTime() - first) / windowMs) + 1;
  return count > KEYED_READ_WINDOWS ? undefined : Array.from({ length: Math.max(0, count) }, (_, i) => first + i * windowMs);
}

/**
 * Lookups by key in flight per read: on FerretDB 60 at once took no less time than 16 (about
 * 0.4 ms each on 2 cores) and wanted 60 connections.
 */
const KEYED_READS_AT_ONCE = 16;
const SERIES_PROJECTION = {
  _id: 0,
  timestamp: 1,
  viewerCount: 1,
  avgViewers: 1,
  peakViewers: 1,
  minViewers: 1,
  sampleCount: 1,
  uniqueViewers: 1,
  visitors: 1,
} as const;

/** A stored snapshot's series fields only, as SERIES_PROJECTION would return them. */
function seriesWindow({ timestamp, viewerCount, avgViewers, peakViewers, minViewers, sampleCount, uniqueViewers, visitors }: SnapshotDocument): SeriesWindow {
  return {
    timestamp,
    viewerCount,
    avgViewers,
    peakViewers,
    minViewers,
    sampleCount,
    ...(uniqueViewers === undefined ? {} : { uniqueViewers }),
    ...(visitors === undefined ? {} : { visitors }),
  };
}

/** The auction's windows that start at `starts` (oldest first), found by key; those never stored are left out. */
async function* windowsByKey(
  collection: Collection<SnapshotDocument>,
  guard: DatabaseAvailability['guard'],
  auction: ObjectId,
  starts: readonly number[],
): AsyncIterable<SeriesWindow> {
  const hex = auction.toHexString();
  // Whole documents, trimmed here: FerretDB spends ~15 % more CPU on a lookup with a projection
  // than on the few dozen bytes it saves; MongoDB hardly minds either way.
  const found = await guard(() => boundedMap(starts, KEYED_READS_AT_ONCE, (start) => collection.findOne({ _id: snapshotKey(hex, start) })));
  for (const document of found) if (document !== null) yield seriesWindow(document);
}

function viewerAnalyticsRepository(
  collection: Collection<SnapshotDocument>,
  { guard, guardIterable }: DatabaseAvailability,
): ViewerAnalyticsRepository {
  return {
    async insertMany(snapshots) {
      if (snapshots.length === 0) return { stored: 0, duplicates: [] };
      try {
        // One unordered bulk insert: the unique index turns retries into duplicate-key errors
        // while every other snapshot of the batch is still written.
        const { insertedCount } = await guard(() => collection.insertMany([...snapshots], { ordered: false }));
        return { stored: insertedCount, duplicates: [] };
      } catch (error) {
        if (!onlyDuplicateKeys(error)) throw error;
        return { stored: error.insertedCount, duplicates: [error.writeErrors].flat().map((writeError) => writeError.index) };
      }
    },

    windowsAt(auction, starts) {
      return windowsByKey(collection, guard, auction, starts);
    },

    windowsSince(since, until) {
      const timestamp = until === undefined ? { $gte: since } : { $gte: since, $lte: until };
      // No sort: FerretDB would sort in memory what the caller groups by auction and hour anyway.
      return guardIterable(collection.find<AuctionWindow>({ timestamp }, { projection: { ...SERIES_PROJECTION, auction: 1 } }));
    },

    ensureRetentionIndex(expireAfterSeconds) {
      return createRetentionIndex(collection, 'createdAt', expireAfterSeconds);
    },

    purgeCreatedBefore(cutoff) {
      return purgeInChunks(collection, { createdAt: { $lt: cutoff } });
    },
  };
}

/** The `vieweranalytics` collection and its idempotency index; the only module that touches it. */
export default fp(
  async (fastify) => {
    const db = fastify.mongo.db;
    if (db === undefined) throw new Error('the mongodb plugin was registered without a database name');
    const collection = db.collection<SnapshotDocument>(VIEWER_ANALYTICS_COLLECTION);
    // One snapshot per auction and window: retried deliveries become duplicate-key errors.
    await collection.createIndex({ auction: 1, timestamp: 1 }, { unique: true }, undefined);
    fastify.decorate('viewerAnalytics', viewerAnalyticsRepository(collection, fastify.databaseAvailability));
  },
  { name: 'viewer-analytics-repository', dependencies: ['mongodb', 'database-availability'] },
);
