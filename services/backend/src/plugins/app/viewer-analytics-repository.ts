import { MongoServerError, type Collection, type CreateIndexOptions, type IndexOptions, type IndexSpecification, type ObjectId } from 'mongodb';
import fp from 'fastify-plugin';
import { onlyDuplicateKeys } from '../../database-errors.js';
import type { DatabaseAvailability } from './database-availability.js';
import type { SeriesWindow } from '../../analytics/viewer-series.js';
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

/** How snapshots expire: by the server's TTL monitor, or by our own periodic purge. */
export type RetentionIndex = 'ttl' | 'plain';

export interface ViewerAnalyticsRepository {
  insertMany(snapshots: readonly SnapshotDocument[]): Promise<InsertOutcome>;
  /** The auction's windows that start at `starts` (oldest first), each looked up by key; those never stored are left out. */
  windowsAt(auction: ObjectId, starts: readonly number[]): AsyncIterable<SeriesWindow>;
  /**
   * Every window of every auction starting at or after `since`, in no order: one pass over the
   * collection, for when so many windows are wanted that lookups by key would cost more.
   */
  windowsSince(since: Date): AsyncIterable<AuctionWindow>;
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

const INDEX_OPTIONS_CONFLICT = 85;
/** What a MongoDB-compatible server answers for an index option it lacks (FerretDB 1.x: 238). */
const NOT_SUPPORTED = new Set([115 /* CommandNotSupported */, 238 /* NotImplemented */]);
const CREATED_AT = { createdAt: 1 } as const;
const CREATED_AT_INDEX = 'createdAt_1';
/**
 * Snapshots the purge deletes per statement: well below SQLite's 32,766 variables, yet few
 * passes, since each pass costs FerretDB a scan of the collection.
 */
export const PURGE_CHUNK = 20_000;
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

/** What managing the retention index needs of a collection. */
export interface IndexedCollection {
  createIndex(keys: IndexSpecification, indexOptions: IndexOptions | undefined, commandOptions: CreateIndexOptions | undefined): Promise<string>;
  dropIndex(name: string): Promise<unknown>;
}

/**
 * A TTL index on `createdAt`, or a plain one where the server rejects TTL indexes. A TTL index
 * left by another retention setting is replaced, so RETENTION_DAYS can change between runs.
 */
export async function createRetentionIndex(
  collection: IndexedCollection,
  expireAfterSeconds: number,
): Promise<RetentionIndex> {
  const ttl = { name: CREATED_AT_INDEX, expireAfterSeconds };
  try {
    await collection.createIndex(CREATED_AT, ttl, undefined);
    return 'ttl';
  } catch (error) {
    if (!(error instanceof MongoServerError)) throw error;
    if (error.code === INDEX_OPTIONS_CONFLICT) {
      await collection.dropIndex(CREATED_AT_INDEX);
      await collection.createIndex(CREATED_AT, ttl, undefined);
      return 'ttl';
    }
    if (typeof error.code !== 'number' || !NOT_SUPPORTED.has(error.code)) throw error;
  }
  await collection.createIndex(CREATED_AT, { name: CREATED_AT_INDEX }, undefined);
  return 'plain';
}

/** The auction's windows that start at `starts` (oldest first), found by key; those never stored are left out. */
async function* windowsByKey(
  collection: Collection<SnapshotDocument>,
  guard: DatabaseAvailability['guard'],
  auction: ObjectId,
  starts: readonly number[],
): AsyncIterable<SeriesWindow> {
  const hex = auction.toHexString();
  // All at once: the driver's pool bounds how many are in flight.
  const found = await guard(() =>
    Promise.all(starts.map((start) => collection.findOne<SeriesWindow>({ _id: snapshotKey(hex, start) }, { projection: SERIES_PROJECTION }))),
  );
  for (const window of found) if (window !== null) yield window;
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

    windowsSince(since) {
      // No sort: FerretDB would sort in memory what the caller groups by auction and hour anyway.
      return guardIterable(collection.find<AuctionWindow>({ timestamp: { $gte: since } }, { projection: { ...SERIES_PROJECTION, auction: 1 } }));
    },

    ensureRetentionIndex(expireAfterSeconds) {
      return createRetentionIndex(collection, expireAfterSeconds);
    },

    async purgeCreatedBefore(cutoff) {
      // FerretDB on SQLite turns one deleteMany into one statement with a variable per document,
      // and fails beyond SQLite's 32,766. Each pass deletes the next PURGE_CHUNK expired snapshots
      // in _id order, as a range (a long $in list costs FerretDB a comparison per id and document).
      const expired = { createdAt: { $lt: cutoff } };
      let deleted = 0;
      for (;;) {
        const [last] = await collection
          .find(expired, { projection: { _id: 1 }, sort: { _id: 1 }, skip: PURGE_CHUNK - 1, limit: 1 })
          .toArray();
        const { deletedCount } = await collection.deleteMany(last === undefined ? expired : { ...expired, _id: { $lte: last._id } });
        deleted += deletedCount;
        if (last === undefined) return deleted;
      }
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
