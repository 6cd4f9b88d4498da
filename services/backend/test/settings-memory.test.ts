import { MongoClient, ObjectId, type Collection } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { testDatabaseName } from '@viewer-analytics/devdb';
import { SettingsMemory, type SettingsLogDocument } from '../src/settings-memory.js';

const direct = <T>(operation: () => Promise<T>): Promise<T> => operation();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Short enough to wait out in a test. */
const UPCOMING_MS = 400;

describe('SettingsMemory: announced changes on the real database', () => {
  let client: MongoClient;
  let log: Collection<SettingsLogDocument>;
  const memory = (): SettingsMemory => new SettingsMemory(log, direct, { maxRemembered: 1_000, upcomingMs: UPCOMING_MS });

  beforeAll(async () => {
    client = await new MongoClient(inject('mongoUri')).connect();
    log = client.db(testDatabaseName(import.meta.filename)).collection('settingschanges');
  });
  beforeEach(async () => {
    await log.deleteMany({});
  });
  afterAll(async () => {
    await client.db(testDatabaseName(import.meta.filename)).dropDatabase();
    await client.close();
  });

  it('remembers no setting of an announced auction until the change is logged', async () => {
    const [writer, reader] = [memory(), memory()];
    const auction = new ObjectId();
    const hexId = auction.toHexString();
    reader.remember(await reader.start(), hexId, true);
    expect(reader.get(hexId)).toBe(true);

    const announcement = await writer.upcoming(auction);
    reader.remember(await reader.catchUp(), hexId, true);
    expect(reader.get(hexId)).toBeUndefined();

    await writer.append(auction, announcement);
    reader.remember(await reader.catchUp(), hexId, false);
    expect(reader.get(hexId)).toBe(false);
  });

  it('lets an announcement that is never settled lapse after upcomingMs, on the reader’s clock', async () => {
    const [writer, reader] = [memory(), memory()];
    const auction = new ObjectId();
    const hexId = auction.toHexString();
    await reader.start();
    // The writer dies between the change and its entry.
    await writer.upcoming(auction);
    const head = await reader.catchUp();
    reader.remember(head, hexId, false);
    expect(reader.get(hexId)).toBeUndefined();
    await sleep(UPCOMING_MS + 50);
    reader.remember(head, hexId, false);
    expect(reader.get(hexId)).toBe(false);
  });

  it('keeps an auction unremembered while another announcement of it is open, though one was settled', async () => {
    const [first, second, reader] = [memory(), memory(), memory()];
    const auction = new ObjectId();
    const hexId = auction.toHexString();
    await reader.start();
    const firstAnnouncement = await first.upcoming(auction);
    await second.upcoming(auction);
    await first.append(auction, firstAnnouncement);
    reader.remember(await reader.catchUp(), hexId, true);
    expect(reader.get(hexId)).toBeUndefined();
  });

  it('a process started after an announcement looks back past the head hint for it, and not for settled or old ones', async () => {
    const writer = memory();
    const [pending, settled, old] = [new ObjectId(), new ObjectId(), new ObjectId()];
    // Written as an earlier process would have, an hour ago: older than upcomingMs and any clock skew.
    await log.insertOne({ _id: '1', auction: old, at: new Date(Date.now() - 3_600_000), upcoming: true });
    await writer.start();
    await writer.upcoming(pending);
    expect(await log.findOne({ _id: 'head' })).toBeNull(); // an announcement alone moves no hint
    await writer.append(settled, await writer.upcoming(settled));
    const hint = await log.findOne({ _id: 'head' });
    expect(hint).toMatchObject({ value: 4 });

    const starting = memory();
    const head = await starting.start();
    expect(head).toBe(4);
    for (const auction of [pending, settled, old]) starting.remember(head, auction.toHexString(), true);
    expect(starting.get(pending.toHexString())).toBeUndefined();
    expect(starting.get(settled.toHexString())).toBe(true);
    expect(starting.get(old.toHexString())).toBe(true);
  });
});
