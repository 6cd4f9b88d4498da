import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '@viewer-analytics/testkit';
import { startDatabase, testDatabaseName } from '../src/index.js';

describe('the run database', () => {
  const client = new MongoClient(inject('mongoUri'));
  const db = client.db(testDatabaseName(import.meta.filename));

  afterAll(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('stores and reads back a document through the native driver', async () => {
    const { insertedId } = await db.collection('probe').insertOne({ auction: 'a1', viewers: 42, at: new Date(0) });
    const found = await db.collection('probe').findOne({ _id: insertedId });
    expect(found).toMatchObject({ auction: 'a1', viewers: 42, at: new Date(0) });
  });
});

describe.runIf(inject('databaseKind') === 'ferretdb')('FerretDB lookups by _id', () => {
  const client = new MongoClient(inject('mongoUri'));
  const db = client.db(testDatabaseName(import.meta.filename));

  afterAll(async () => {
    await db.dropDatabase();
    await client.close();
  });

  /** Milliseconds a query takes, read to its end. */
  async function timed(query: () => Promise<unknown>): Promise<number> {
    const started = performance.now();
    await query();
    return performance.now() - started;
  }

  it('are index searches, not scans of the collection (FerretDB 1.24 alone would scan)', async () => {
    const collection = db.collection<{ _id: string; n: number; padding: string }>('lookups');
    const padding = 'x'.repeat(200);
    for (let from = 0; from < 30_000; from += 10_000) {
      await collection.insertMany(Array.from({ length: 10_000 }, (_, i) => ({ _id: `key-${String(from + i)}`, n: from + i, padding })));
    }
    // A filter FerretDB applies itself reads every document: what a scan costs here.
    const scanMs = await timed(() => collection.find({ n: -1 }).toArray());
    let lookupMs = Number.POSITIVE_INFINITY;
    await waitFor(
      async () => {
        lookupMs = await timed(() => collection.find({ _id: 'key-29999' }).toArray());
        // Measured here: 1.7 ms against a 1.8-2.0 s scan; without the index 160-400 ms.
        return lookupMs < scanMs / 100;
      },
      10_000,
      () => `a lookup by _id to cost under a hundredth of a scan (${scanMs.toFixed(1)} ms); the last took ${lookupMs.toFixed(1)} ms`,
    );
    expect(await collection.findOne({ _id: 'key-29999' })).toMatchObject({ n: 29_999 });
  });
});

describe('startDatabase', () => {
  let previous: string | undefined;
  beforeAll(() => {
    previous = process.env['MONGODB_URI'];
  });
  afterAll(() => {
    if (previous === undefined) delete process.env['MONGODB_URI'];
    else process.env['MONGODB_URI'] = previous;
  });

  it('uses MONGODB_URI when it is set and starts nothing of its own', async () => {
    process.env['MONGODB_URI'] = inject('mongoUri');
    const database = await startDatabase();
    expect(database).toMatchObject({ kind: 'uri', uri: inject('mongoUri') });
    await database.stop();
  });

  it.runIf(inject('databaseKind') === 'ferretdb')(
    'starts a FerretDB of its own on a free loopback port and stops it',
    async () => {
      delete process.env['MONGODB_URI'];
      const database = await startDatabase();
      expect(database.kind).toBe('ferretdb');
      expect(database.uri).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/$/);
      const client = await MongoClient.connect(database.uri, { serverSelectionTimeoutMS: 5_000 });
      const reply = await client.db('admin').command({ ping: 1 });
      expect(reply['ok']).toBe(1);
      await client.close();
      await database.stop();
      await expect(MongoClient.connect(database.uri, { serverSelectionTimeoutMS: 1_000 })).rejects.toThrow();
    },
  );
});

describe('testDatabaseName', () => {
  it('is unique per call and safe for MongoDB and FerretDB', () => {
    const a = testDatabaseName('/x/services/backend/test/routes/Snapshot-Ingest.test.ts');
    const b = testDatabaseName('/x/services/backend/test/routes/Snapshot-Ingest.test.ts');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^t_snapshot_ingest_[0-9a-f]{8}$/);
    expect(a.length).toBeLessThanOrEqual(63);
  });
});
