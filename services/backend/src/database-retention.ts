import { MongoServerError, type CreateIndexOptions, type Document, type Filter, type IndexOptions, type IndexSpecification } from 'mongodb';

/** How documents expire: by the server's TTL monitor, or by our own periodic purge (no index). */
export type RetentionIndex = 'ttl' | 'purge';

/** What managing a retention index needs of a collection. */
export interface IndexedCollection {
  createIndex(keys: IndexSpecification, indexOptions: IndexOptions | undefined, commandOptions: CreateIndexOptions | undefined): Promise<string>;
  dropIndex(name: string): Promise<unknown>;
}

/** What a chunked purge needs of a collection. */
export interface PurgedCollection<T extends Document> {
  find(filter: Filter<T>, options: { projection: { _id: 1 }; sort: { _id: 1 }; limit: number; batchSize: number }): { toArray(): Promise<{ _id: unknown }[]> };
  deleteMany(filter: Filter<T>): Promise<{ deletedCount: number }>;
}

const INDEX_OPTIONS_CONFLICT = 85;
/** What a MongoDB-compatible server answers for an index option it lacks (FerretDB 1.x: 238). */
const NOT_SUPPORTED = new Set([115 /* CommandNotSupported */, 238 /* NotImplemented */]);
/** What dropIndex answers when there is nothing to drop: no such collection, no such index. */
const NOTHING_TO_DROP = new Set([26 /* NamespaceNotFound */, 27 /* IndexNotFound */]);
/**
 * Documents a purge deletes per statement: well below SQLite's 32,766 variables, yet few
 * passes, since each pass costs FerretDB a scan of the collection.
 */
export const PURGE_CHUNK = 20_000;

/**
 * A TTL index on the date field `field`, or none where the server rejects TTL indexes. A TTL index
 * left by another retention setting is replaced, so RETENTION_DAYS can change between runs.
 *
 * The one server known to reject them, FerretDB 1.x, filters on nothing but `_id` equality, so a
 * plain index there would serve no query (the purge scans either way) and only slow every insert
 * (an insertMany of 5,000 snapshots: ~460 ms with it, ~360 ms without). A plain one an earlier
 * version made is dropped.
 */
export async function createRetentionIndex(collection: IndexedCollection, field: string, expireAfterSeconds: number): Promise<RetentionIndex> {
  const keys = { [field]: 1 };
  const name = `${field}_1`;
  const ttl = { name, expireAfterSeconds };
  try {
    await collection.createIndex(keys, ttl, undefined);
    return 'ttl';
  } catch (error) {
    if (!(error instanceof MongoServerError)) throw error;
    if (error.code === INDEX_OPTIONS_CONFLICT) {
      await collection.dropIndex(name);
      await collection.createIndex(keys, ttl, undefined);
      return 'ttl';
    }
    if (typeof error.code !== 'number' || !NOT_SUPPORTED.has(error.code)) throw error;
  }
  try {
    await collection.dropIndex(name);
  } catch (error) {
    if (!(error instanceof MongoServerError) || typeof error.code !== 'number' || !NOTHING_TO_DROP.has(error.code)) throw error;
  }
  return 'purge';
}

/**
 * Deletes the documents matching `expired`, PURGE_CHUNK at a time; returns how many. FerretDB on
 * SQLite turns one deleteMany into one statement with a variable per document, and fails beyond
 * SQLite's 32,766. Each pass reads the next chunk's ids in _id order and deletes them as a range
 * (a long $in list costs FerretDB a comparison per id and document). When nothing has expired,
 * the usual case, that is one read and no delete: on FerretDB each of them scans the collection
 * (70 s at 1,000,000 snapshots).
 */
export async function purgeInChunks<T extends Document>(collection: PurgedCollection<T>, expired: Filter<T>): Promise<number> {
  let deleted = 0;
  for (;;) {
    const chunk = await collection.find(expired, { projection: { _id: 1 }, sort: { _id: 1 }, limit: PURGE_CHUNK, batchSize: PURGE_CHUNK }).toArray();
    const last = chunk.at(-1);
    if (last === undefined) return deleted;
    const { deletedCount } = await collection.deleteMany({ $and: [expired, { _id: { $lte: last._id } }] } as Filter<T>);
    deleted += deletedCount;
    if (chunk.length < PURGE_CHUNK) return deleted;
  }
}
