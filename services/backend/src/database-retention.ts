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
  find(filter: Filter<T>, options: { projection: { _id: 1 }; sort: { _id: 1 }; skip: number; limit: 1 }): { toArray(): Promise<{ _id: unknown }[]> };
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
 * SQLite's 32,766. Each pass deletes the next chunk in _id order, as a range (a long $in list
 * costs FerretDB a comparison per id and document).
 */
export async function purgeInChunks<T extends Document>(collection: PurgedCollection<T>, expired: Filter<T>): Promise<number> {
  let deleted = 0;
  for (;;) {
    const [last] = await collection.find(expired, { projection: { _id: 1 }, sort: { _id: 1 }, skip: PURGE_CHUNK - 1, limit: 1 }).toArray();
    const { deletedCount } = await collection.deleteMany(last === undefined ? expired : ({ $and: [expired, { _id: { $lte: last._id } }] } as Filter<T>));
    deleted += deletedCount;
    if (last === undefined) return deleted;
  }
}
