import type { FastifyInstance } from 'fastify';
import { MongoClient, MongoServerError, ObjectId } from 'mongodb';
import { afterAll, describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { createRetentionIndex, PURGE_CHUNK, purgeInChunks, type IndexedCollection } from '../../../src/database-retention.js';
import { FIGURES_COLLECTION, HOURS_COLLECTION, MARKS_COLLECTION } from '../../../src/plugins/app/viewer-hours.js';
import { buildApp, database, dropAndClose, logCollector, testConfig } from '../../helper.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const NINETY_DAYS_S = 90 * 86_400;
const PURGE_INTERVAL_MS = 1_000;

function serverError(code: number): MongoServerError {
  return new MongoServerError({ code, errmsg: `error ${String(code)}` });
}

/** A collection whose server answers createIndex as told, recording each call. */
function fakeCollection(...answers: (MongoServerError | undefined)[]) {
  const createIndex = vi.fn(async (..._args: Parameters<IndexedCollection['createIndex']>) => {
    const answer = answers.shift();
    if (answer !== undefined) throw answer;
    return 'createdAt_1';
  });
  const dropIndex = vi.fn(async (..._args: Parameters<IndexedCollection['dropIndex']>) => ({ ok: 1 }));
  return { createIndex, dropIndex } satisfies IndexedCollection;
}

describe('the retention index', () => {
  it('is a TTL index on createdAt of RETENTION_DAYS where the server accepts TTL indexes', async () => {
    const collection = fakeCollection();
    expect(await createRetentionIndex(collection, 'createdAt', NINETY_DAYS_S)).toBe('ttl');
    expect(collection.createIndex.mock.calls).toEqual([[{ createdAt: 1 }, { name: 'createdAt_1', expireAfterSeconds: NINETY_DAYS_S }, undefined]]);
  });

  it('replaces a TTL index of another retention (IndexOptionsConflict) so RETENTION_DAYS can change', async () => {
    const collection = fakeCollection(serverError(85));
    expect(await createRetentionIndex(collection, 'createdAt', NINETY_DAYS_S)).toBe('ttl');
    expect(collection.dropIndex.mock.calls).toEqual([['createdAt_1']]);
    expect(collection.createIndex).toHaveBeenCalledTimes(2);
    expect(collection.createIndex.mock.calls[1]).toEqual([{ createdAt: 1 }, { name: 'createdAt_1', expireAfterSeconds: NINETY_DAYS_S }, undefined]);
  });

  it.each([115, 238])('is no index where the server rejects TTL indexes (code %i), and a plain one left by an earlier version is dropped', async (code) => {
    const collection = fakeCollection(serverError(code));
    expect(await createRetentionIndex(collection, 'createdAt', NINETY_DAYS_S)).toBe('purge');
    expect(collection.createIndex).toHaveBeenCalledTimes(1);
    expect(collection.dropIndex.mock.calls).toEqual([['createdAt_1']]);
  });

  it.each([26, 27])('is content when there is no index to drop (code %i), and fails on any other error of the drop', async (code) => {
    const nothing = fakeCollection(serverError(238));
    nothing.dropIndex.mockRejectedValueOnce(serverError(code));
    expect(await createRetentionIndex(nothing, 'createdAt', NINETY_DAYS_S)).toBe('purge');
    const failing = fakeCollection(serverError(238));
    failing.dropIndex.mockRejectedValueOnce(serverError(13));
    await expect(createRetentionIndex(failing, 'createdAt', NINETY_DAYS_S)).rejects.toThrow('error 13');
  });

  it('lets any other database error stop the start-up', async () => {
    await expect(createRetentionIndex(fakeCollection(serverError(13)), 'createdAt', NINETY_DAYS_S)).rejects.toThrow('error 13');
  });
});

describe('retention on the run’s database', () => {
  const usesFerretDb = inject('databaseKind') === 'ferretdb';
  const logs = logCollector();
  let app: FastifyInstance;

  afterAll(async () => {
    await app.close();
  });

  function document(createdAgoMs: number, minutesAgo: number) {
    const createdAt = new Date(Date.now() - createdAgoMs);
    return {
      auction: new ObjectId(),
      timestamp: new Date(Date.now() - minutesAgo * 60_000),
      viewerCount: 1,
      avgViewers: 1,
      peakViewers: 1,
      minViewers: 1,
      sampleCount: 12,
      createdAt,
      updatedAt: createdAt,
    };
  }

  it('creates the index the server supports, idempotently', async () => {
    const config = testConfig(import.meta.filename, { RETENTION_DAYS: '1', RETENTION_PURGE_INTERVAL_MS: String(PURGE_INTERVAL_MS), LOG_LEVEL: 'info' });
    if (usesFerretDb) {
      // The plain index earlier versions made where TTL indexes are rejected: it goes.
      const client = await new MongoClient(config.MONGODB_URI).connect();
      await client.db(config.MONGODB_DATABASE).collection('vieweranalytics').createIndex({ createdAt: 1 }, { name: 'createdAt_1' }, undefined);
      await client.close();
    }
    app = await buildApp(config, { logs });
    // A second start on the same database must not fail.
    await (await buildApp({ ...config, LOG_LEVEL: 'silent' })).close();

    const indexes = await database(app).collection('vieweranalytics').indexes();
    const createdAt = indexes.find((index) => index.name === 'createdAt_1');
    // FerretDB 1.x: no TTL, and a plain index would serve no query there, only cost the inserts.
    if (usesFerretDb) expect(createdAt).toBeUndefined();
    else expect(createdAt).toMatchObject({ key: { createdAt: 1 }, expireAfterSeconds: 86_400 });
    expect(indexes.find((index) => index.name === 'auction_1_timestamp_1')).toMatchObject({ key: { auction: 1, timestamp: 1 }, unique: true });
    // The hour marks live two hours longer than the windows they stand for; the copies as long as their hour.
    // Without an index to create (FerretDB), a collection that no write has made yet does not exist.
    const indexOf = async (collection: string, name: string) =>
      (await database(app).listCollections({ name: collection }).toArray()).length === 0
        ? undefined
        : (await database(app).collection(collection).indexes()).find((one) => one.name === name);
    const markIndex = await indexOf(MARKS_COLLECTION, 'at_1');
    const hourIndex = await indexOf(HOURS_COLLECTION, 'hour_1');
    const figuresIndex = await indexOf(FIGURES_COLLECTION, 'hour_1');
    if (usesFerretDb) expect([markIndex, hourIndex, figuresIndex]).toEqual([undefined, undefined, undefined]);
    else {
      expect([markIndex?.key, hourIndex?.key, figuresIndex?.key]).toEqual([{ at: 1 }, { hour: 1 }, { hour: 1 }]);
      expect([markIndex?.expireAfterSeconds, hourIndex?.expireAfterSeconds, figuresIndex?.expireAfterSeconds]).toEqual([86_400 + 7_200, 86_400, 86_400]);
    }
  });

  it('purges the hour marks, copies and figures whose snapshots have all expired, and keeps the rest', async () => {
    const now = Date.now();
    const auction = new ObjectId();
    const mark = (id: string, atAgoMs: number) => ({ _id: id, auction, hour: new Date(now - atAgoMs - HOUR_MS), at: new Date(now - atAgoMs) });
    const copy = (id: string, hourAgoMs: number) => ({ _id: id, auction, hour: new Date(now - hourAgoMs), copiedAt: new Date(now), windows: [] });
    const marks = database(app).collection<ReturnType<typeof mark>>(MARKS_COLLECTION);
    const copies = database(app).collection<ReturnType<typeof copy>>(HOURS_COLLECTION);
    // A mark stands for windows stored until its hour settled: it goes two hours after the retention.
    await marks.insertMany([mark('expired', DAY_MS + 2 * HOUR_MS + 60_000), mark('within-the-margin', DAY_MS + HOUR_MS), mark('young', HOUR_MS)]);
    await copies.insertMany([copy('expired', DAY_MS + 60_000), copy('young', DAY_MS - 60_000)]);
    const figures = database(app).collection<ReturnType<typeof copy>>(FIGURES_COLLECTION);
    await figures.insertMany([copy('expired', DAY_MS + 60_000), copy('young', DAY_MS - 60_000)]);

    await app.viewerHours.purgeExpired();
    // (the periodic purge may have taken some first on FerretDB; a TTL monitor on MongoDB only after a minute)
    expect((await marks.find({ auction }).toArray()).map(({ _id }) => _id).sort()).toEqual(['within-the-margin', 'young']);
    expect((await copies.find({ auction }).toArray()).map(({ _id }) => _id)).toEqual(['young']);
    expect((await figures.find({ auction }).toArray()).map(({ _id }) => _id)).toEqual(['young']);
  });

  it.runIf(usesFerretDb)('purges snapshots past retention every interval where TTL is rejected, and says so once', async () => {
    const collection = database(app).collection<ReturnType<typeof document>>('vieweranalytics');
    await collection.insertMany([document(2 * DAY_MS, 1), document(DAY_MS + 60_000, 2), document(DAY_MS - 60_000, 3), document(0, 4)]);

    await vi.waitFor(
      async () => {
        expect(await collection.countDocuments()).toBe(2);
      },
      { timeout: 3 * PURGE_INTERVAL_MS, interval: 100 },
    );
    const kept = await collection.find().toArray();
    expect(kept.every((snapshot) => Date.now() - snapshot.createdAt.getTime() < DAY_MS)).toBe(true);

    // Several purges later, the fallback was still announced only once.
    await new Promise((resolve) => setTimeout(resolve, 2 * PURGE_INTERVAL_MS));
    const announcements = logs.lines.filter((line) => String(line['msg']).includes('rejects TTL indexes'));
    expect(announcements).toHaveLength(1);
    expect(announcements[0]).toMatchObject({ retentionDays: 1, intervalMs: PURGE_INTERVAL_MS });
  });

  it('reads once and deletes nothing when nothing has expired: on FerretDB each command scans the whole collection', async () => {
    const uri = new URL(inject('mongoUri'));
    uri.searchParams.set('monitorCommands', 'true');
    const client = await new MongoClient(uri.toString()).connect();
    onTestFinished(() => client.close());
    // A collection of its own: the app purges its snapshots every second.
    const collection = client.db(database(app).databaseName).collection('purgeprobe');
    await collection.insertMany([document(0, 1), document(2 * DAY_MS, 2)]);
    const expired = { createdAt: { $lt: new Date(Date.now() - DAY_MS) } };
    const commands: string[] = [];
    client.on('commandStarted', ({ commandName }) => commands.push(commandName));

    expect(await purgeInChunks(collection, expired)).toBe(1);
    expect(commands).toEqual(['find', 'delete']);
    commands.length = 0;
    expect(await purgeInChunks(collection, expired)).toBe(0);
    expect(commands).toEqual(['find']);
    await collection.drop();
  });

  it(`purges a backlog beyond SQLite’s 32,766 variables (one deleteMany of it fails on FerretDB), ${String(PURGE_CHUNK)} at a time`, { timeout: 180_000 }, async () => {
    // An app of its own that purges only when asked (after its start-up purge of an empty collection).
    const quiet = await buildApp(testConfig(import.meta.filename, { RETENTION_DAYS: '1', RETENTION_PURGE_INTERVAL_MS: String(3_600_000) }));
    onTestFinished(() => dropAndClose(quiet));
    const collection = database(quiet).collection<ReturnType<typeof document>>('vieweranalytics');
    const expired = 32_768;
    const auction = new ObjectId();
    const old = new Date(Date.now() - 2 * DAY_MS);
    // Written directly, as cheaply as possible: only what the purge looks at differs.
    for (let start = 0; start < expired; start += 5_000) {
      await collection.insertMany(
        Array.from({ length: Math.min(5_000, expired - start) }, (_, i) => ({ ...document(0, 0), auction, timestamp: new Date((start + i) * 60_000), createdAt: old, updatedAt: old })),
      );
    }
    await collection.insertMany([document(0, 1), document(0, 2)]);

    const started = Date.now();
    const deleted = await quiet.viewerAnalytics.purgeCreatedBefore(new Date(Date.now() - DAY_MS));
    process.stdout.write(`[retention] purged ${String(deleted)} expired snapshots in ${String(Date.now() - started)} ms\n`);
    // A TTL monitor (MongoDB) may have taken some meanwhile; FerretDB has none.
    if (usesFerretDb) expect(deleted).toBe(expired);
    expect(await collection.countDocuments()).toBe(2);
  });

  it.runIf(usesFerretDb)('stops purging when the app closes', async () => {
    const name = database(app).databaseName;
    await app.close();
    const client = await new MongoClient(inject('mongoUri')).connect();
    try {
      const collection = client.db(name).collection('vieweranalytics');
      await collection.insertOne(document(2 * DAY_MS, 10));
      await new Promise((resolve) => setTimeout(resolve, 2 * PURGE_INTERVAL_MS));
      expect(await collection.countDocuments({ createdAt: { $lt: new Date(Date.now() - DAY_MS) } })).toBe(1);
      await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  });
});
