import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  HEATMAP_CELLS,
  snapshotKey,
  VisitorSketch,
  type BatchSnapshot,
  type Heatmap,
  type Overview,
  type SnapshotDocument,
  type TokenClaims,
  type ViewerAnalytics,
} from '@viewer-analytics/shared';
import { Binary, ObjectId } from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { COPY_AFTER_QUIET_MS, FIGURES_COLLECTION, HOURS_COLLECTION, MARKS_COLLECTION } from '../../../src/plugins/app/viewer-hours.js';
import { ADMIN, bearer, buildApp, createAuction, database, dropAndClose, internalKey, OWNER, STRANGER, testConfig, windowStart } from '../../helper.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A stored window `minutesAgo` minutes back with `viewers` viewers throughout (12 samples). */
function item(auctionId: string, minutesAgo: number, viewers: number, visitors?: readonly number[]): BatchSnapshot {
  const sketch = new VisitorSketch();
  for (const hash of visitors ?? []) sketch.add(hash);
  return {
    auctionId,
    timestamp: windowStart(minutesAgo),
    viewerCount: viewers,
    avgViewers: viewers,
    peakViewers: viewers + 1,
    minViewers: Math.max(0, viewers - 1),
    sampleCount: 12,
    ...(visitors === undefined ? {} : { uniqueViewers: sketch.estimate(), visitorSketch: Buffer.from(sketch.toBytes()).toString('base64') }),
  };
}

describe('GET /api/v1/analytics/overview and /api/v1/analytics/heatmap', () => {
  let app: FastifyInstance;
  /** OWNER's auctions, oldest created first; one of STRANGER's. */
  let first: string;
  let second: string;
  let quiet: string;
  let strangers: string;
  /** Every window ingested, by auction. */
  const ingested = new Map<string, BatchSnapshot[]>();

  async function ingest(items: readonly BatchSnapshot[]): Promise<void> {
    const reply = await app.inject({ method: 'POST', url: '/api/v1/analytics/snapshots', headers: internalKey, payload: { snapshots: items } });
    expect(reply.statusCode).toBe(200);
    for (const one of items) {
      const list = ingested.get(one.auctionId) ?? [];
      if (!list.some((known) => known.timestamp === one.timestamp)) list.push(one);
      ingested.set(one.auctionId, list);
    }
  }

  const get = async <T>(path: string, claims: TokenClaims = OWNER): Promise<T> => {
    const reply = await app.inject({ method: 'GET', url: path, headers: bearer(app, claims) });
    expect(reply.statusCode, reply.body).toBe(200);
    return reply.json<{ data: T }>().data;
  };

  /** The overview's row must say what the viewers route's summary says for the same 30 days. */
  async function expectRowsMatchSummaries(overview: Overview): Promise<void> {
    for (const row of overview.auctions) {
      const { summary } = await get<ViewerAnalytics>(`/api/v1/auctions/${row.id}/analytics/viewers?timeRange=30d`, ADMIN);
      expect(row).toMatchObject({
        snapshots: summary.snapshots,
        peakViewers: summary.peakViewers,
        peakAt: summary.peakAt,
        avgViewers: summary.avgViewers,
        viewerMinutes: summary.viewerMinutes,
        uniqueViewers: summary.uniqueViewers,
      });
    }
  }

  const config = testConfig(import.meta.filename);

  beforeAll(async () => {
    app = await buildApp(config);
    first = await createAuction(app);
    second = await createAuction(app);
    quiet = await createAuction(app, { enableViewerAnalytics: false });
    strangers = await createAuction(app, { ownerId: STRANGER.sub });
    // `first`: two settled hours five hours back (one window left out, sent late below), the current minute, and 40 days back.
    await ingest([
      ...Array.from({ length: 90 }, (_, i) => 300 - i)
        .filter((minutesAgo) => minutesAgo !== 280)
        .map((minutesAgo) => item(first, minutesAgo, minutesAgo % 17)),
      item(first, 0, 3),
      item(first, 40 * 24 * 60, 99),
    ]);
    // `second`: two days back, with visitors (hashes 1-4 and 3-6: six people).
    await ingest([item(second, 2 * 24 * 60, 8, [1, 2, 3, 4]), item(second, 2 * 24 * 60 - 1, 6, [3, 4, 5, 6])]);
    await ingest([item(strangers, 24 * 60, 50), item(strangers, 24 * 60 - 1, 40)]);
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  it("lists the caller's auctions, newest created first, each with the figures the viewers route gives for the range", async () => {
    const overview = await get<Overview>('/api/v1/analytics/overview');
    expect(overview.auctions.map((row) => row.id)).toEqual([quiet, second, first]);
    expect(overview.auctions.find((row) => row.id === first)).toMatchObject({
      title: 'Test auction',
      ownerId: OWNER.sub,
      enableViewerAnalytics: true,
      snapshots: 90, // 89 five hours back and the current minute; not the one 40 days back
      lastSnapshotAt: windowStart(0),
      uniqueViewers: null,
    });
    expect(overview.auctions.find((row) => row.id === second)).toMatchObject({ snapshots: 2, uniqueViewers: 6, peakViewers: 9, peakAt: windowStart(2 * 24 * 60) });
    expect(overview.auctions.find((row) => row.id === quiet)).toMatchObject({
      enableViewerAnalytics: false,
      snapshots: 0,
      peakViewers: 0,
      peakAt: null,
      avgViewers: 0,
      viewerMinutes: 0,
      uniqueViewers: null,
      lastSnapshotAt: null,
    });
    await expectRowsMatchSummaries(overview);
    const longer = await get<Overview>('/api/v1/analytics/overview?timeRange=90d');
    expect(longer.auctions.find((row) => row.id === first)?.snapshots).toBe(91);
  });

  it('counts a snapshot that arrives hours late, after the hour was read and kept, and a retried one once', async () => {
    // Copies are trusted once they are newer than the hour's marks by more than the clock skew allowed (2 s).
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const copies = database(app).collection<{ _id: string; copiedAt: Date }>(HOURS_COLLECTION);
    const hourKey = `${first}:${String(Math.floor(Date.parse(windowStart(280)) / HOUR) * HOUR)}`;
    const before = await get<Overview>('/api/v1/analytics/overview');
    const copied = (await copies.findOne({ _id: hourKey }))?.copiedAt;
    expect(copied).toBeInstanceOf(Date);
    // Read again: from the copy, not copied again.
    expect(await get<Overview>('/api/v1/analytics/overview')).toEqual(before);
    expect((await copies.findOne({ _id: hourKey }))?.copiedAt).toEqual(copied);

    await ingest([item(first, 280, 1_000)]);
    await ingest([item(first, 280, 1_000), item(first, 279, 279 % 17)]); // a retry of both: duplicates
    const after = await get<Overview>('/api/v1/analytics/overview');
    const row = (overview: Overview) => overview.auctions.find(({ id }) => id === first);
    expect(row(after)?.snapshots).toBe((row(before)?.snapshots ?? 0) + 1);
    expect(row(after)).toMatchObject({ peakViewers: 1_001, peakAt: windowStart(280) });
    await expectRowsMatchSummaries(after);
    expect((await copies.findOne({ _id: hourKey }))?.copiedAt.getTime()).toBeGreaterThan(copied?.getTime() ?? Infinity);
  });

  it('reads many hours in one pass when lookups by key would cost more, with the same figures', async () => {
    const busy = await createAuction(app, { ownerId: 'busy-owner' });
    // One window an hour for 60 hours, ten days back: more hours than lookups by key are used for.
    await ingest(Array.from({ length: 60 }, (_, i) => item(busy, 10 * 24 * 60 + i * 60, 10 + (i % 7))));
    const overview = await get<Overview>('/api/v1/analytics/overview?ownerId=busy-owner', ADMIN);
    expect(overview.auctions.map(({ id, snapshots }) => ({ id, snapshots }))).toEqual([{ id: busy, snapshots: 60 }]);
    await expectRowsMatchSummaries(overview);
    // Read again, from the copies.
    expect(await get<Overview>('/api/v1/analytics/overview?ownerId=busy-owner', ADMIN)).toEqual(overview);
  });

  it('copies the hours of late snapshots once they stop coming, before any read asks', async () => {
    const restored = await createAuction(app, { ownerId: 'restored-owner' });
    // Two windows of one hour six days back (the later one would start the next hour at minute 59).
    const older = 6 * 24 * 60 + (new Date(windowStart(6 * 24 * 60)).getUTCMinutes() === 59 ? 1 : 0);
    await ingest([item(restored, older, 5), item(restored, older - 1, 6)]);
    const hour = Math.floor(Date.parse(windowStart(older)) / HOUR) * HOUR;
    const copies = database(app).collection<{ _id: string; windows: unknown[] }>(HOURS_COLLECTION);
    const deadline = Date.now() + COPY_AFTER_QUIET_MS + 10_000;
    let copy = await copies.findOne({ _id: `${restored}:${String(hour)}` });
    while (copy === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      copy = await copies.findOne({ _id: `${restored}:${String(hour)}` });
    }
    expect(copy?.windows).toHaveLength(2);
  });

  it('copies again the hours of 130 auctions when late snapshots come for hours already copied, and the database still answers', async () => {
    // FerretDB 1.24 stopped answering anyone when one update command replaced 100 stored documents or more.
    const auctions = await Promise.all(Array.from({ length: 130 }, () => createAuction(app, { ownerId: 'recopied-owner' })));
    const older = 5 * 24 * 60 + (new Date(windowStart(5 * 24 * 60)).getUTCMinutes() === 59 ? 1 : 0);
    const hour = Math.floor(Date.parse(windowStart(older)) / HOUR) * HOUR;
    const copies = database(app).collection<{ _id: string; windows: unknown[] }>(HOURS_COLLECTION);
    const copiedWith = async (windows: number): Promise<number> => {
      const deadline = Date.now() + COPY_AFTER_QUIET_MS + 15_000;
      let done = 0;
      while (Date.now() < deadline) {
        const found = await copies.find({ _id: { $in: auctions.map((auction) => `${auction}:${String(hour)}`) } }).toArray();
        done = found.filter((copy) => copy.windows.length === windows).length;
        if (done === auctions.length) break;
        await sleep(250);
      }
      return done;
    };
    await ingest(auctions.map((auction) => item(auction, older, 5)));
    expect(await copiedWith(1)).toBe(auctions.length);
    await ingest(auctions.map((auction) => item(auction, older - 1, 6)));
    expect(await copiedWith(2)).toBe(auctions.length);
  });

  it('shows hours another backend process marked within seconds, and never waits for them', async () => {
    const other = await buildApp(config); // the same database, its own marks
    try {
      const elsewhere = await createAuction(app, { ownerId: 'elsewhere-owner' });
      const path = '/api/v1/analytics/overview?ownerId=elsewhere-owner';
      expect((await get<Overview>(path, ADMIN)).auctions).toMatchObject([{ id: elsewhere, snapshots: 0 }]);
      const reply = await other.inject({ method: 'POST', url: '/api/v1/analytics/snapshots', headers: internalKey, payload: { snapshots: [item(elsewhere, 3 * 60, 7)] } });
      expect(reply.json(), reply.body).toMatchObject({ data: { stored: 1 } });
      const storedAt = Date.now();
      let slowest = 0;
      let seen = false;
      // Twice a second, within the rate limit.
      while (!seen && Date.now() - storedAt < 15_000) {
        await sleep(500);
        const startedAt = Date.now();
        seen = (await get<Overview>(path, ADMIN)).auctions[0]?.snapshots === 1;
        slowest = Math.max(slowest, Date.now() - startedAt);
      }
      expect(seen).toBe(true);
      expect(Date.now() - storedAt).toBeLessThan(10_000);
      expect(slowest).toBeLessThan(1_000); // the marks are read again in the background
    } finally {
      await other.close();
    }
  });

  it("keeps a settled hour's figures beside its copy: a process started later answers from them, and takes them from copies made before them", async () => {
    // Figures taken within the clock skew allowed (2 s) of an hour's newest mark are not trusted: let the earlier tests' marks age.
    await sleep(2_500);
    const overview = await get<Overview>('/api/v1/analytics/overview');
    const heatmap = await get<Heatmap>('/api/v1/analytics/heatmap?timeZone=Asia/Kolkata');
    const figures = database(app).collection(FIGURES_COLLECTION);
    const copies = database(app).collection<{ _id: string }>(HOURS_COLLECTION);
    // The hours the owner's 30-day overview reads whole (earlier tests read 90 days too).
    const owners = { auction: { $in: [first, second, quiet].map((id) => new ObjectId(id)) }, hour: { $gte: new Date(Date.now() - 30 * DAY + HOUR) } };
    const stored = await figures.countDocuments(owners);
    expect(stored).toBeGreaterThan(0);

    const answers = async (started: FastifyInstance) => {
      const ask = async (path: string) => (await started.inject({ method: 'GET', url: path, headers: bearer(started, OWNER) })).json<{ data: unknown }>().data;
      return [await ask('/api/v1/analytics/overview'), await ask('/api/v1/analytics/heatmap?timeZone=Asia/Kolkata')];
    };
    // Without the copies of the hours that have figures, a new process gives the same answers.
    const hidden = await copies.find({ _id: { $in: (await figures.find({}, { projection: { _id: 1 } }).toArray()).map(({ _id }) => String(_id)) } }).toArray();
    await copies.deleteMany({ _id: { $in: hidden.map(({ _id }) => _id) } });
    const monitored = new URL(inject('mongoUri'));
    monitored.searchParams.set('monitorCommands', 'true');
    const later = await buildApp({ ...config, MONGODB_URI: monitored.toString() });
    try {
      // It loads the figures when it starts, and then reads none of them to answer.
      await vi.waitFor(
        () => {
          expect(later.viewerHours.warmedUp()).toBe(true);
        },
        { timeout: 20_000 },
      );
      const asked: unknown[] = [];
      later.mongo.client.on('commandStarted', (event) => {
        // The hourly purge runs at start too, and finds by `hour: {$lt}`; no read of figures may.
        if (event.commandName === 'find' && event.command['find'] === FIGURES_COLLECTION) asked.push(event.command['filter']);
      });
      expect(await answers(later)).toEqual([overview, heatmap]);
      expect(asked.filter((filter) => !JSON.stringify(filter).includes('"$lt"'))).toEqual([]);
    } finally {
      await later.close();
    }
    await copies.insertMany(hidden);

    // Figures stored by an earlier version (no quarter sketches nor window starts) are taken again from the copies.
    await figures.updateMany({}, { $unset: { qv: '', o: '', wl: '' } });
    const older = await buildApp(config);
    try {
      expect(await answers(older)).toEqual([overview, heatmap]);
    } finally {
      await older.close();
    }
    expect(await figures.countDocuments({ ...owners, o: { $exists: true } })).toBe(stored);

    // Damaged figures (a sketch that does not decode) are taken again too, rather than failing the read.
    await figures.updateMany({}, { $set: { v: new Binary(Buffer.from([7, 1, 2])) } });
    const damaged = await buildApp(config);
    try {
      expect(await answers(damaged)).toEqual([overview, heatmap]);
    } finally {
      await damaged.close();
    }

    // Copies stored before figures existed: the figures are taken from them, and stored.
    await figures.deleteMany({});
    const upgraded = await buildApp(config);
    try {
      expect(await answers(upgraded)).toEqual([overview, heatmap]);
    } finally {
      await upgraded.close();
    }
    expect(await figures.countDocuments(owners)).toBe(stored);
  });

  it('counts every new window of an hour not settled yet, however often that hour was read before', async () => {
    const live = await createAuction(app, { ownerId: 'live-owner' });
    const row = async () => (await get<Overview>('/api/v1/analytics/overview?ownerId=live-owner&timeRange=24h', ADMIN)).auctions[0];
    await ingest([item(live, 3, 5)]);
    expect(await row()).toMatchObject({ snapshots: 1, peakViewers: 6 });
    expect(await row()).toMatchObject({ snapshots: 1, peakViewers: 6 });
    // Minutes 2 and 1 were looked up and missing in the reads above.
    await ingest([item(live, 2, 9), item(live, 1, 7)]);
    expect(await row()).toMatchObject({ snapshots: 3, peakViewers: 10, lastSnapshotAt: windowStart(1) });
  });

  it("lets an admin see every owner's auctions or one owner's, and nobody else another owner's", async () => {
    const all = await get<Overview>('/api/v1/analytics/overview', ADMIN);
    expect(all.auctions.map(({ id }) => id)).toEqual(expect.arrayContaining([first, second, quiet, strangers]));
    const theirs = await get<Overview>(`/api/v1/analytics/overview?ownerId=${STRANGER.sub}`, ADMIN);
    expect(theirs.auctions.map(({ id, snapshots }) => ({ id, snapshots }))).toEqual([{ id: strangers, snapshots: 2 }]);
    expect((await get<Overview>(`/api/v1/analytics/overview?ownerId=${OWNER.sub}`)).auctions).toHaveLength(3);
    expect((await get<Overview>('/api/v1/analytics/overview', STRANGER)).auctions.map(({ id }) => id)).toEqual([strangers]);
    for (const path of [`/api/v1/analytics/overview?ownerId=${STRANGER.sub}`, `/api/v1/analytics/heatmap?timeZone=UTC&ownerId=${STRANGER.sub}`]) {
      const reply = await app.inject({ method: 'GET', url: path, headers: bearer(app, OWNER) });
      expect(reply.statusCode).toBe(403);
      expect(reply.json()).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
    }
  });

  /** The cells the windows imply, placing each by the zone's offset as Intl gives it for that very window. */
  function expectedCells(windows: readonly BatchSnapshot[], timeZone: string): Heatmap['cells'] {
    const format = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'long', hour: '2-digit', hourCycle: 'h23' });
    const days = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
    const sums = Array.from({ length: HEATMAP_CELLS }, () => ({ weighted: 0, samples: 0, windows: 0 }));
    for (const window of windows) {
      const parts = format.formatToParts(new Date(window.timestamp));
      const day = days.indexOf(parts.find((part) => part.type === 'weekday')?.value ?? '');
      const hour = Number(parts.find((part) => part.type === 'hour')?.value);
      const sum = sums[day * 24 + hour];
      if (sum === undefined) throw new Error(`no cell for ${window.timestamp}`);
      sum.weighted += window.avgViewers * window.sampleCount;
      sum.samples += window.sampleCount;
      sum.windows += 1;
    }
    return sums.map((sum, cell) => ({
      dayOfWeek: Math.floor(cell / 24),
      hour: cell % 24,
      avgViewers: sum.samples === 0 ? 0 : Math.round((sum.weighted / sum.samples) * 10_000) / 10_000,
      windows: sum.windows,
    }));
  }

  it.each(['UTC', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'])(
    "places the caller's windows of the last 30 days in the local weekday and hour of %s",
    async (timeZone) => {
      const heatmap = await get<Heatmap>(`/api/v1/analytics/heatmap?timeZone=${encodeURIComponent(timeZone)}`);
      const thirtyDays = Date.now() - 30 * DAY;
      const mine = [first, second].flatMap((id) => ingested.get(id) ?? []).filter((window) => Date.parse(window.timestamp) >= thirtyDays);
      expect(heatmap).toEqual({ timeZone, cells: expectedCells(mine, timeZone) });
    },
  );

  it("gives an admin one owner's heatmap when asked", async () => {
    const heatmap = await get<Heatmap>(`/api/v1/analytics/heatmap?timeZone=Europe/Berlin&ownerId=${STRANGER.sub}`, ADMIN);
    expect(heatmap.cells).toEqual(expectedCells(ingested.get(strangers) ?? [], 'Europe/Berlin'));
    expect(heatmap.cells.reduce((sum, { windows }) => sum + windows, 0)).toBe(2);
  });

  it.each([
    ['an unknown time zone', '/api/v1/analytics/heatmap?timeZone=Mars/Olympus_Mons', 'querystring/timeZone: "Mars/Olympus_Mons" is not a known IANA time zone'],
    ['no time zone', '/api/v1/analytics/heatmap', 'querystring/timeZone: is required'],
    ['the range all', '/api/v1/analytics/overview?timeRange=all', 'querystring/timeRange: must be one of 1h, 6h, 24h, 7d, 30d, 90d'],
    ['an unknown parameter', '/api/v1/analytics/overview?sort=peak', 'querystring/sort: is not allowed'],
  ])('answers %s with 400', async (_name, path, message) => {
    const reply = await app.inject({ method: 'GET', url: path, headers: bearer(app, OWNER) });
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({ success: false, error: { code: 'VALIDATION_ERROR', message } });
  });

  it('answers a request without a token with 401', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v1/analytics/overview' })).statusCode).toBe(401);
  });
});

describe('snapshots stored before auction-hours were marked', () => {
  it('are marked once at start-up, so the overview counts them', async () => {
    const config = testConfig(`${import.meta.filename}-backfill`);
    const before = await buildApp(config);
    const auction = await createAuction(before);
    // Stored as an older version did: snapshots and no marks.
    const documents = [5, 70, 200].map((minutesAgo) => ({
      _id: snapshotKey(auction, Date.parse(windowStart(minutesAgo))),
      auction: new ObjectId(auction),
      timestamp: new Date(windowStart(minutesAgo)),
      viewerCount: 4,
      avgViewers: 4,
      peakViewers: 4,
      minViewers: 4,
      sampleCount: 12,
      createdAt: new Date(),
      updatedAt: new Date(),
    }));
    await database(before).collection<SnapshotDocument>('vieweranalytics').insertMany(documents);
    await database(before).collection(MARKS_COLLECTION).deleteMany({});
    await before.close();

    const after = await buildApp(config);
    try {
      const reply = await after.inject({ method: 'GET', url: '/api/v1/analytics/overview', headers: bearer(after, OWNER) });
      expect(reply.json<{ data: Overview }>().data.auctions).toMatchObject([{ id: auction, snapshots: 3 }]);
    } finally {
      await dropAndClose(after);
    }
  });
});
