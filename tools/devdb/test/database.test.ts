import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
