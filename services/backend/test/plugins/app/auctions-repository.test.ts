import type { FastifyInstance } from 'fastify';
import { ObjectId, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { BatchOutcome } from '@viewer-analytics/shared';
import { RETRY_FIRST_MS } from '../../../src/retry-delay.js';
import { startTcpProxy } from '../../fixtures/tcp-proxy.js';
import { buildApp, createAuction, database, dropAndClose, internalKey, logCollector, snapshot, testConfig, windowStart } from '../../helper.js';

/** The run's database, with every command of this client reported (to count what a request reads). */
function monitoredUri(): string {
  const uri = new URL(inject('mongoUri'));
  uri.searchParams.set('monitorCommands', 'true');
  return uri.toString();
}

describe('analytics settings read by the ingest: remembered, yet exact across backend instances', () => {
  let ingesting: FastifyInstance;
  let toggling: FastifyInstance;
  const commands: CommandStartedEvent[] = [];

  beforeAll(async () => {
    // Two instances of the backend on one database, as behind a load balancer.
    toggling = await buildApp(testConfig(import.meta.filename));
    ingesting = await buildApp(testConfig(import.meta.filename, { MONGODB_URI: monitoredUri(), MONGODB_DATABASE: toggling.mongo.db?.databaseName }));
    ingesting.mongo.client.on('commandStarted', (event) => commands.push(event));
  });
  afterAll(async () => {
    await ingesting.close();
    await dropAndClose(toggling);
  });

  const ingest = async (auctionIds: readonly string[], minutesAgo: number): Promise<BatchOutcome> => {
    const reply = await ingesting.inject({
      method: 'POST',
      url: '/api/v1/analytics/snapshots',
      headers: internalKey,
      payload: { snapshots: auctionIds.map((auctionId) => ({ auctionId, ...snapshot({ timestamp: windowStart(minutesAgo) }) })) },
    });
    expect(reply.statusCode).toBe(200);
    return reply.json<{ data: BatchOutcome }>().data;
  };
  const reads = (collection: string): number =>
    commands.filter((event) => event.commandName === 'find' && event.command['find'] === collection).length;

  const auctionReads = (): Record<string, unknown>[] =>
    commands.flatMap((event) => (event.commandName === 'find' && event.command['find'] === 'auctions' ? [event.command['filter'] as Record<string, unknown>] : []));

  it('reads an auction it has not loaded once, by _id, then only the settings log, by _id', async () => {
    const auctionIds = await Promise.all(Array.from({ length: 40 }, () => createAuction(toggling)));
    commands.length = 0;
    expect(await ingest(auctionIds, 10)).toMatchObject({ stored: 40 });
    // Created after this instance loaded the settings: read one by one, never through $in, which FerretDB scans.
    expect(auctionReads()).toHaveLength(40);
    expect(auctionReads().every((filter) => Object.keys(filter).join() === '_id' && filter['_id'] instanceof ObjectId)).toBe(true);
    commands.length = 0;
    expect(await ingest(auctionIds, 9)).toMatchObject({ stored: 40 });
    expect(reads('auctions')).toBe(0);
    expect(reads('settingschanges')).toBe(1);
    const logRead = commands.find((event) => event.command['find'] === 'settingschanges');
    // A string: FerretDB 1.x finds a number _id only by scanning the collection.
    expect(logRead?.command['filter']).toEqual({ _id: expect.any(String) as unknown });
  });

  it('a backend started later loads every setting and reads no auction at ingest', async () => {
    const auctionIds = await Promise.all(Array.from({ length: 30 }, (_, i) => createAuction(toggling, { enableViewerAnalytics: i % 3 !== 0 })));
    const later = await buildApp(testConfig(import.meta.filename, { MONGODB_URI: monitoredUri(), MONGODB_DATABASE: toggling.mongo.db?.databaseName }));
    const laterCommands: CommandStartedEvent[] = [];
    try {
      await vi.waitFor(() => {
        expect(later.auctions.warmedUp()).toBe(true);
      });
      later.mongo.client.on('commandStarted', (event) => laterCommands.push(event));
      const reply = await later.inject({
        method: 'POST',
        url: '/api/v1/analytics/snapshots',
        headers: internalKey,
        payload: { snapshots: auctionIds.map((auctionId) => ({ auctionId, ...snapshot({ timestamp: windowStart(3) }) })) },
      });
      expect(reply.json<{ data: BatchOutcome }>().data).toMatchObject({ stored: 20, disabled: 10 });
      const lookup = await later.inject({ method: 'GET', url: `/api/v1/internal/auctions/${auctionIds[0] ?? ''}`, headers: internalKey });
      expect(lookup.statusCode).toBe(200);
      expect(laterCommands.filter((event) => event.command['find'] === 'auctions')).toHaveLength(0);
    } finally {
      await later.close();
    }
  });

  it('sees every change when several instances change settings at once, as the log has no gaps', async () => {
    const auctionIds = await Promise.all(Array.from({ length: 60 }, () => createAuction(toggling)));
    expect(await ingest(auctionIds, 2)).toMatchObject({ stored: 60 });
    // Half through each instance, all at once: each groups its changes, and both append to the log concurrently.
    await Promise.all(auctionIds.map((id, i) => (i % 2 === 0 ? toggling : ingesting).auctions.setViewerAnalytics(new ObjectId(id), false)));
    expect(await ingest(auctionIds, 1)).toMatchObject({ stored: 0, disabled: 60 });
    const numbers = (await database(toggling).collection<{ _id: string }>('settingschanges').find({}).toArray()).flatMap(({ _id }) => (_id === 'head' ? [] : [Number(_id)]));
    numbers.sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 1));
  });

  it('applies a change made through another instance to every snapshot that arrives after it returned', async () => {
    const auctionId = await createAuction(toggling);
    const other = await createAuction(toggling);
    expect(await ingest([auctionId, other], 8)).toMatchObject({ stored: 2, disabled: 0 });

    const off = await toggling.auctions.setViewerAnalytics(new ObjectId(auctionId), false);
    expect(off?.enableViewerAnalytics).toBe(false);
    expect(await ingest([auctionId, other], 7)).toMatchObject({ stored: 1, disabled: 1 });

    await toggling.auctions.setViewerAnalytics(new ObjectId(auctionId), true);
    expect(await ingest([auctionId, other], 6)).toMatchObject({ stored: 2, disabled: 0 });
  });

  it('answers auctions that do not exist as unknown every time, and remembers none of them', async () => {
    const missing = '0123456789abcdef01234567';
    expect(await ingest([missing], 5)).toMatchObject({ unknown: 1 });
    commands.length = 0;
    expect(await ingest([missing], 4)).toMatchObject({ unknown: 1 });
    expect(reads('auctions')).toBe(1);
  });
});

/** An entry of the settings log about an auction: an announcement, or a change that settles one. */
type LogEntry = { _id: string; auction: ObjectId; upcoming?: true; settles?: number };

describe('a setting change made, then not logged (the database lost, or the process killed, after the update)', () => {
  const WARNING = 'appending setting changes to the log failed: tried again until it succeeds (other instances read their announcements and take those auctions from the database meanwhile)';

  /**
   * Two instances on one database. The one that changes settings reaches it through a relay that
   * holds back one of its inserts into the log, by default the second: the announcement goes
   * through, the change's own entry does not. It turns `auctionId` off; the relay cuts once the
   * insert is held back.
   */
  async function changeCutShort(name: string, heldBackInsert: 'announcement' | 'change' = 'change') {
    const ingesting = await buildApp(testConfig(`${import.meta.filename}-${name}`));
    const proxy = await startTcpProxy(inject('mongoUri'), {
      stall: { command: 'insert', collection: 'settingschanges', after: heldBackInsert === 'change' ? 1 : 0 },
    });
    const logs = logCollector();
    const toggling = await buildApp(
      testConfig(import.meta.filename, { MONGODB_URI: proxy.uri, MONGODB_DATABASE: ingesting.mongo.db?.databaseName, LOG_LEVEL: 'warn' }),
      { logs },
    );
    // A new window per ingest, all in the past: enough for every try of the waits below (45 s, one a second).
    let minutesAgo = 120;
    const ingest = async (auctionId: string): Promise<BatchOutcome> => {
      minutesAgo -= 1;
      const reply = await ingesting.inject({
        method: 'POST',
        url: '/api/v1/analytics/snapshots',
        headers: internalKey,
        payload: { snapshots: [{ auctionId, ...snapshot({ timestamp: windowStart(minutesAgo) }) }] },
      });
      return reply.json<{ data: BatchOutcome }>().data;
    };
    /** The auction's entries in the log, oldest first. */
    const logged = async (auctionId: string): Promise<LogEntry[]> =>
      (await database(ingesting).collection<LogEntry>('settingschanges').find({ auction: new ObjectId(auctionId) }).toArray()).sort(
        (a, b) => Number(a._id) - Number(b._id),
      );

    const auctionId = await createAuction(ingesting);
    expect(await ingest(auctionId)).toMatchObject({ stored: 1 });
    const before = (await logged(auctionId)).length;
    /** The auction's entries in the log since the change began, oldest first. */
    const loggedSince = async (): Promise<LogEntry[]> => (await logged(auctionId)).slice(before);
    const turningOff = toggling.auctions.setViewerAnalytics(new ObjectId(auctionId), false);
    await proxy.stalled;
    await proxy.cut();
    await expect(turningOff).rejects.toThrow();
    const enabled = async (): Promise<boolean | undefined> => (await ingesting.auctions.findById(new ObjectId(auctionId)))?.enableViewerAnalytics;
    let closing: Promise<void> | undefined;
    /** Closes the changing instance, once. */
    const closeToggling = (): Promise<void> => (closing ??= toggling.close());
    const cleanUp = async (): Promise<void> => {
      await proxy.restore().catch(() => undefined);
      await closeToggling();
      await proxy.cut();
      await dropAndClose(ingesting);
    };
    return { auctionId, enabled, ingest, loggedSince, logs, proxy, closeToggling, cleanUp };
  }

  it('applies at once on the other instances through its announcement, and is logged once the database is back', async () => {
    const { auctionId, enabled, ingest, loggedSince, logs, proxy, cleanUp } = await changeCutShort('unlogged');
    try {
      expect(await enabled()).toBe(false);
      // Not logged, yet the other instance read the announcement and takes the auction from the database.
      expect(await loggedSince()).toEqual([expect.objectContaining({ upcoming: true })]);
      expect(await ingest(auctionId)).toMatchObject({ stored: 0, disabled: 1 });

      await proxy.restore();
      await vi.waitFor(
        async () => {
          const [announced, made] = await loggedSince();
          // The change, logged, settles its announcement.
          expect(made).toEqual(expect.not.objectContaining({ upcoming: true }));
          expect(made).toMatchObject({ settles: Number(announced?._id) });
        },
        // Tries that fail before the driver sees the database back wait 1, 2, 4, 8… s.
        { timeout: 45_000, interval: 1_000 },
      );
      expect(await ingest(auctionId)).toMatchObject({ stored: 0, disabled: 1 });
      // One warning per failed try: a try that came before the database was back failed too, and the pause doubled.
      const failures = logs.lines.filter((line) => line['msg'] === WARNING);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures).toEqual(failures.map((_, i) => expect.objectContaining({ level: 40, changes: 1, retryInMs: RETRY_FIRST_MS * 2 ** i }) as unknown));
    } finally {
      await cleanUp();
    }
  }, 60_000);

  it('reaches every other instance though its process stops for good before it logs the change', async () => {
    const { auctionId, enabled, ingest, loggedSince, logs, closeToggling, cleanUp } = await changeCutShort('killed');
    try {
      expect(await enabled()).toBe(false);
      // The database stays away until the process is gone: its last try fails, and nobody appends the change.
      await closeToggling();
      expect(logs.lines).toContainEqual(expect.objectContaining({ level: 40, changes: 1, msg: 'setting changes left out of the log at shutdown: other instances apply them through their announcements' }));
      for (let i = 0; i < 3; i++) expect(await ingest(auctionId)).toMatchObject({ stored: 0, disabled: 1 });
      expect(await loggedSince()).toEqual([expect.objectContaining({ upcoming: true })]);
    } finally {
      await cleanUp();
    }
  }, 60_000);

  it('is not made when its announcement fails, and nothing is appended later', async () => {
    const { auctionId, enabled, ingest, loggedSince, logs, proxy, cleanUp } = await changeCutShort('unannounced', 'announcement');
    try {
      expect(await enabled()).toBe(true);
      await proxy.restore();
      // Longer than the first pause before a failed append is tried again.
      await new Promise((resolve) => setTimeout(resolve, RETRY_FIRST_MS * 2.5));
      expect(await loggedSince()).toEqual([]);
      expect(await ingest(auctionId)).toMatchObject({ stored: 1 });
      expect(logs.lines.filter((line) => line['msg'] === WARNING)).toEqual([]);
    } finally {
      await cleanUp();
    }
  });
});
