import { performance } from 'node:perf_hooks';
import { MongoClient, ObjectId } from 'mongodb';

/** Fresh auction ids (ObjectId hex). */
export function newAuctionIds(count: number): string[] {
  return Array.from({ length: count }, () => new ObjectId().toHexString());
}

/**
 * Drops `database` and fills its `auctions` collection the way our backend stores auctions
 * (docs/data-model.md), with viewer analytics on, so that snapshots of them are stored.
 */
export async function seedAuctions(client: MongoClient, database: string, ids: readonly string[]): Promise<void> {
  const db = client.db(database);
  await db.dropDatabase();
  const now = new Date();
  for (let from = 0; from < ids.length; from += 5_000) {
    await db.collection('auctions').insertMany(
      ids.slice(from, from + 5_000).map((id, i) => ({
        _id: new ObjectId(id),
        title: `bench auction ${from + i}`,
        ownerId: 'bench',
        enableViewerAnalytics: true,
        createdAt: now,
        updatedAt: now,
      })),
      { ordered: false },
    );
  }
}

export async function countSnapshots(client: MongoClient, database: string, filter: Record<string, unknown> = {}): Promise<number> {
  return client.db(database).collection('vieweranalytics').countDocuments(filter);
}

/** Median time of `run` over `times` sequential runs, ms. */
async function medianMs(times: number, run: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

export interface LookupDiagnostics {
  readonly auctions: number;
  /** find({_id: {$in: [id]}}): one id through $in. */
  readonly findInOneMs: number;
  /** findOne({_id: id}): the key lookup (limit 1). */
  readonly findOneMs: number;
  /** find({_id: id}) read to its end: the same key, no limit. */
  readonly findEqualMs: number;
  /** find({_id: {$in: [up to 5,000 ids]}}): what a batch's auction lookup asks (both implementations). */
  readonly findInBatchMs: number | undefined;
  readonly batchIds: number;
}

/** Times the auction queries both ingest implementations make, straight against the database. */
export async function lookupDiagnostics(client: MongoClient, database: string, ids: readonly string[], batch = 5_000): Promise<LookupDiagnostics> {
  const auctions = client.db(database).collection('auctions');
  const pick = (i: number): ObjectId => new ObjectId(ids[(i * 7919) % ids.length]);
  let i = 0;
  const findInOneMs = await medianMs(9, () => auctions.find({ _id: { $in: [pick(i++)] } }, { projection: { enableViewerAnalytics: 1 } }).toArray());
  const findOneMs = await medianMs(9, () => auctions.findOne({ _id: pick(i++) }, { projection: { enableViewerAnalytics: 1 } }));
  const findEqualMs = await medianMs(9, () => auctions.find({ _id: pick(i++) }, { projection: { enableViewerAnalytics: 1 } }).toArray());
  const batchIds = Math.min(batch, ids.length);
  const many = ids.slice(0, batchIds).map((id) => new ObjectId(id));
  const findInBatchMs =
    batchIds >= 1_000 ? await medianMs(3, () => auctions.find({ _id: { $in: many } }, { projection: { enableViewerAnalytics: 1 } }).toArray()) : undefined;
  return { auctions: ids.length, findInOneMs, findOneMs, findEqualMs, findInBatchMs, batchIds };
}

/** Median time to insertMany `count` snapshots (ordered: false) into a scratch collection with the unique index. */
export async function insertDiagnostics(client: MongoClient, database: string, ids: readonly string[], count = 5_000): Promise<number> {
  const collection = client.db(database).collection('diagnostics_vieweranalytics');
  await collection.drop().catch(() => undefined);
  await collection.createIndex({ auction: 1, timestamp: 1 }, { unique: true }, undefined);
  let round = 0;
  const ms = await medianMs(3, () => {
    const timestamp = new Date(Date.UTC(2020, 0, 1) + round++ * 60_000);
    const now = new Date();
    return collection.insertMany(
      ids.slice(0, count).map((id) => ({
        auction: new ObjectId(id),
        timestamp,
        viewerCount: 3,
        avgViewers: 2.5,
        peakViewers: 4,
        minViewers: 1,
        sampleCount: 12,
        createdAt: now,
        updatedAt: now,
      })),
      { ordered: false },
    );
  });
  await collection.drop().catch(() => undefined);
  return ms;
}

export { MongoClient };
