import type { FastifyInstance } from 'fastify';
import { Binary, ObjectId, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  MAX_VIEWER_POINTS,
  snapshotKey,
  TIME_RANGES,
  VIEWER_CSV_COLUMNS,
  VisitorSketch,
  type SnapshotDocument,
  type TimeRange,
  type ViewerAnalytics,
  type ViewerPoint,
} from '@viewer-analytics/shared';
import { HOURS_COLLECTION } from '../../../src/plugins/app/viewer-hours.js';
import { ADMIN, bearer, buildApp, createAuction, database, dropAndClose, OWNER, STRANGER, testConfig } from '../../helper.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How old the stored windows are, and which ranges must include each. */
const AGES_MS = [30 * 60_000, 3 * HOUR_MS, 12 * HOUR_MS, 3 * DAY_MS, 20 * DAY_MS, 60 * DAY_MS, 120 * DAY_MS];
const REACH_MS: Record<TimeRange, number> = {
  all: Infinity,
  '1h': HOUR_MS,
  '6h': 6 * HOUR_MS,
  '24h': DAY_MS,
  '7d': 7 * DAY_MS,
  '30d': 30 * DAY_MS,
  '90d': 90 * DAY_MS,
};

/** The start of the window (a minute, the tests' window) that holds `at`. */
const windowOf = (at: number): number => Math.floor(at / 60_000) * 60_000;

/** The run's database, with every command of this client reported (to see what a request reads). */
function monitoredUri(): string {
  const uri = new URL(inject('mongoUri'));
  uri.searchParams.set('monitorCommands', 'true');
  return uri.toString();
}

const url = (auctionId: string, query = '') => `/api/v1/auctions/${auctionId}/analytics/viewers${query}`;

describe('GET /api/v1/auctions/:id/analytics/viewers', () => {
  let app: FastifyInstance;
  let auction: string;
  let other: string;
  const now = Date.now();
  const commands: CommandStartedEvent[] = [];

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename, { MONGODB_URI: monitoredUri() }));
    app.mongo.client.on('commandStarted', (event) => commands.push(event));
    auction = await createAuction(app);
    other = await createAuction(app);
    // Inserted directly in the ingest's layout, newest first, to show the reply sorts them.
    const documents = [other, auction].flatMap((id) =>
      AGES_MS.map((age, i) => ({
        _id: snapshotKey(id, windowOf(now - age)),
        auction: new ObjectId(id),
        timestamp: new Date(windowOf(now - age)),
        viewerCount: i,
        avgViewers: i,
        peakViewers: i,
        minViewers: i,
        sampleCount: 12,
        createdAt: new Date(),
        updatedAt: new Date(),
      })),
    );
    await database(app).collection<SnapshotDocument>('vieweranalytics').insertMany(documents);
    // What the ingest does after it stored them: mark their auction-hours.
    await app.viewerHours.noteStored(documents, Date.now());
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const get = (path: string, claims = OWNER) => app.inject({ method: 'GET', url: path, headers: bearer(app, claims) });

  it.each(TIME_RANGES)('timeRange=%s returns the windows within the range, oldest first', async (range) => {
    const reply = await get(url(auction, `?timeRange=${range}`));
    expect(reply.statusCode).toBe(200);
    const { data } = reply.json<{ data: ViewerAnalytics }>();
    const expected = AGES_MS.filter((age) => age < REACH_MS[range])
      .sort((a, b) => b - a)
      .map((age) => new Date(windowOf(now - age)).toISOString());
    expect(data).toMatchObject({ enabled: true, downsampled: false, bucketMs: 60_000 });
    expect(data.snapshots.map((snapshot) => snapshot.timestamp)).toEqual(expected);
  });

  it('defaults to all and returns every field of a snapshot', async () => {
    const reply = await get(url(auction));
    const { data } = reply.json<{ data: { snapshots: ViewerAnalytics['snapshots'] } }>();
    expect(data.snapshots).toHaveLength(AGES_MS.length);
    expect(data.snapshots.at(-1)).toEqual({
      timestamp: new Date(windowOf(now - (AGES_MS[0] ?? 0))).toISOString(),
      viewerCount: 0,
      avgViewers: 0,
      peakViewers: 0,
      minViewers: 0,
      sampleCount: 12,
      viewerMinutes: 0,
    });
  });

  // 4,493 windows: in buckets of 2 minutes still 2,247, of 5 minutes 899 or 900 (read from the hour copies).
  // 16,000: in buckets of 10 minutes 1,600 or 1,601, of 15 minutes 1,067 (the settled hours read from their figures).
  it.each([
    { windows: 3 * MAX_VIEWER_POINTS - 7, bucketMs: 300_000 },
    { windows: 16_000, bucketMs: 900_000 },
  ])(`merges $windows consecutive windows into at most ${String(MAX_VIEWER_POINTS)} points of $bucketMs ms, and says so`, async ({ windows, bucketMs }) => {
    const busy = await createAuction(app);
    // One window per minute, the newest one an hour ago; every fifth one a partial window.
    const newest = Math.floor(now / 60_000) * 60_000 - HOUR_MS;
    const documents = Array.from({ length: windows }, (_, i) => ({
      _id: snapshotKey(busy, newest - (windows - 1 - i) * 60_000),
      auction: new ObjectId(busy),
      timestamp: new Date(newest - (windows - 1 - i) * 60_000),
      viewerCount: i % 100,
      avgViewers: (i % 100) + 0.5,
      peakViewers: (i % 100) + 3,
      minViewers: i % 100,
      sampleCount: i % 5 === 0 ? 6 : 12,
      createdAt: new Date(),
      updatedAt: new Date(),
    }));
    for (let i = 0; i < documents.length; i += 1_000) await database(app).collection<SnapshotDocument>('vieweranalytics').insertMany(documents.slice(i, i + 1_000));
    await app.viewerHours.noteStored(documents, Date.now());
    // Stored as history, these hours would be copied again in the background a few seconds later,
    // in one pass over every snapshot that later tests would find among their own reads. Drop that
    // (close() drops what is due and not started): the requests below copy what they read.
    await app.viewerHours.close();

    const { data } = (await get(url(busy, '?timeRange=30d'))).json<{ data: ViewerAnalytics }>();
    expect(data.downsampled).toBe(true);
    expect(data.snapshots.length).toBeLessThanOrEqual(MAX_VIEWER_POINTS);
    expect(data.snapshots.length).toBeGreaterThan(MAX_VIEWER_POINTS / 2);
    expect(data.bucketMs).toBe(bucketMs);

    // Each point is exactly its bucket's windows merged: nothing lost, nothing counted twice.
    const byBucket = new Map<number, typeof documents>();
    for (const document of documents) {
      const key = Math.floor(document.timestamp.getTime() / data.bucketMs);
      byBucket.set(key, [...(byBucket.get(key) ?? []), document]);
    }
    expect(data.snapshots).toHaveLength(byBucket.size);
    for (const [i, bucket] of [...byBucket.values()].entries()) {
      const samples = bucket.reduce((sum, document) => sum + document.sampleCount, 0);
      const weighted = bucket.reduce((sum, document) => sum + document.avgViewers * document.sampleCount, 0);
      expect(data.snapshots[i]).toEqual({
        timestamp: bucket[0]?.timestamp.toISOString(),
        viewerCount: bucket.at(-1)?.viewerCount,
        avgViewers: Math.round((weighted / samples) * 10_000) / 10_000,
        peakViewers: Math.max(...bucket.map((document) => document.peakViewers)),
        minViewers: Math.min(...bucket.map((document) => document.minViewers)),
        sampleCount: samples,
        // The tests' samples are 5 s apart.
        viewerMinutes: Math.round(((weighted * 5_000) / 60_000) * 10_000) / 10_000,
      });
    }

    // The summary is taken from every window, not from the points.
    const allSamples = documents.reduce((sum, document) => sum + document.sampleCount, 0);
    const allWeighted = documents.reduce((sum, document) => sum + document.avgViewers * document.sampleCount, 0);
    const peak = Math.max(...documents.map((document) => document.peakViewers));
    expect(data.summary).toEqual({
      snapshots: windows,
      peakViewers: peak,
      peakAt: documents.find((document) => document.peakViewers === peak)?.timestamp.toISOString(),
      avgViewers: Math.round((allWeighted / allSamples) * 10_000) / 10_000,
      minViewers: 0,
      durationMs: windows * 60_000,
      viewerMinutes: Math.round(((allWeighted * 5_000) / 60_000) * 10_000) / 10_000,
      uniqueViewers: null,
      avgWatchMinutes: null,
    });

    // A range that holds fewer windows is not merged.
    // The route reads its clock when the request arrives: bracket that moment, since a minute may turn in between.
    const inRange = (at: number): number => documents.filter((document) => document.timestamp.getTime() >= at - 6 * HOUR_MS).length;
    const askedAt = Date.now();
    const hour = (await get(url(busy, '?timeRange=6h'))).json<{ data: ViewerAnalytics }>().data;
    const answeredAt = Date.now();
    expect(hour).toMatchObject({ downsampled: false, bucketMs: 60_000 });
    expect(hour.snapshots.length).toBeGreaterThanOrEqual(inRange(answeredAt));
    expect(hour.snapshots.length).toBeLessThanOrEqual(inRange(askedAt));
    expect(inRange(askedAt)).toBeGreaterThan(200);
  });

  it('reads a range of up to 360 windows by key only, and a longer one from the hour copies, made by key the first time', async () => {
    const reads = (): Record<string, unknown>[] =>
      commands
        .filter((event) => event.commandName === 'find' && event.command['find'] === 'vieweranalytics')
        .map((event) => event.command['filter'] as Record<string, unknown>);
    commands.length = 0;
    await get(url(auction, '?timeRange=6h'));
    const byKey = reads();
    // 6 hours of minutes: 360 windows, or 361 when the range starts on a minute.
    expect(byKey.length).toBeGreaterThanOrEqual(360);
    expect(byKey.length).toBeLessThanOrEqual(361);
    for (const filter of byKey) expect(Object.keys(filter)).toEqual(['_id']);

    commands.length = 0;
    const first = (await get(url(auction, '?timeRange=24h'))).json<{ data: ViewerAnalytics }>().data;
    const copying = reads();
    for (const filter of copying) expect(Object.keys(filter)).toEqual(['_id']);
    // The settled hours (3 and 12 hours back) are copies by now (made by key by this read or an earlier one).
    for (const age of [3 * HOUR_MS, 12 * HOUR_MS]) {
      const hour = Math.floor((now - age) / HOUR_MS) * HOUR_MS;
      expect(await database(app).collection(HOURS_COLLECTION).countDocuments({ _id: `${auction}:${String(hour)}` } as object)).toBe(1);
    }

    commands.length = 0;
    expect((await get(url(auction, '?timeRange=24h'))).json<{ data: ViewerAnalytics }>().data).toEqual(first);
    // Only the hour 30 minutes back, if it has not settled yet.
    expect(reads().length).toBeLessThanOrEqual(60);
  });

  it('says when analytics is off, and still returns what was stored before', async () => {
    await app.auctions.setViewerAnalytics(new ObjectId(other), false);
    const { data } = (await get(url(other))).json<{ data: ViewerAnalytics }>();
    expect(data.enabled).toBe(false);
    expect(data.snapshots).toHaveLength(AGES_MS.length);
  });

  it('lets an admin read any auction', async () => {
    expect((await get(url(auction), ADMIN)).statusCode).toBe(200);
  });

  it("answers someone else's auction with 403", async () => {
    const reply = await get(url(auction), STRANGER);
    expect(reply.statusCode).toBe(403);
    expect(reply.json()).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
  });

  it('answers an unknown auction with 404 AUCTION_NOT_FOUND', async () => {
    const reply = await get(url(new ObjectId().toHexString()));
    expect(reply.statusCode).toBe(404);
    expect(reply.json()).toMatchObject({ error: { code: 'AUCTION_NOT_FOUND' } });
  });

  it.each([
    ['an unknown time range', url('665f1c2a9b1e8a0012345678', '?timeRange=5m'), 'querystring/timeRange: must be one of all, 1h, 6h, 24h, 7d, 30d, 90d'],
    ['an unknown query parameter', url('665f1c2a9b1e8a0012345678', '?limit=5'), 'querystring/limit: is not allowed'],
    ['a malformed id', url('665f1c2a9b1e8a001234567z'), 'params/id: must match pattern "^[0-9a-fA-F]{24}$"'],
  ])('answers %s with 400', async (_name, path, message) => {
    const reply = await get(path);
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({ success: false, error: { code: 'VALIDATION_ERROR', message } });
  });

  it('answers a request without a token with 401', async () => {
    const reply = await app.inject({ method: 'GET', url: url(auction) });
    expect(reply.statusCode).toBe(401);
    expect(reply.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });
});

describe('GET /api/v1/auctions/:id/analytics/viewers: from/to ranges, summaries and CSV', () => {
  let app: FastifyInstance;
  let auction: string;
  /** Ten consecutive minutes two days ago; the window at index i has i + 1 viewers on average. */
  const base = windowOf(Date.now() - 2 * DAY_MS);
  const at = (i: number): string => new Date(base + i * 60_000).toISOString();
  /** Visitors of window i: hashes i+1 … i+3, so that neighbours share two. */
  const sketchOf = (i: number): VisitorSketch => {
    const sketch = new VisitorSketch();
    for (const hash of [i + 1, i + 2, i + 3]) sketch.add(hash);
    return sketch;
  };

  beforeAll(async () => {
    app = await buildApp(testConfig(`${import.meta.filename}-ranges`));
    auction = await createAuction(app);
    const documents = Array.from({ length: 10 }, (_, i) => ({
      _id: snapshotKey(auction, base + i * 60_000),
      auction: new ObjectId(auction),
      timestamp: new Date(base + i * 60_000),
      viewerCount: i,
      avgViewers: i + 1,
      peakViewers: i === 4 || i === 6 ? 50 : i + 2,
      minViewers: i,
      sampleCount: i === 9 ? 6 : 12,
      // Windows 0-4 were stored before visitor sketches existed.
      ...(i < 5 ? {} : { uniqueViewers: 3, visitors: new Binary(sketchOf(i).toBytes()) }),
      createdAt: new Date(),
      updatedAt: new Date(),
    }));
    await database(app).collection<SnapshotDocument>('vieweranalytics').insertMany(documents);
    // What the ingest does after it stored them: mark their auction-hours.
    await app.viewerHours.noteStored(documents, Date.now());
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const get = (query: string, headers: Record<string, string> = {}, claims = OWNER) =>
    app.inject({ method: 'GET', url: url(auction, query), headers: { ...bearer(app, claims), ...headers } });
  const json = async (query: string): Promise<ViewerAnalytics> => {
    const reply = await get(query);
    expect(reply.statusCode).toBe(200);
    return reply.json<{ data: ViewerAnalytics }>().data;
  };

  /** The CSV's rows as points (the JSON API's shape), checking the header on the way. */
  function parseCsv(body: string): ViewerPoint[] {
    const [header, ...rows] = body.split('\r\n');
    expect(header).toBe(VIEWER_CSV_COLUMNS.join(','));
    expect(rows.pop()).toBe(''); // the last row ends with a line break too
    return rows.map((row) => {
      const cells = row.split(',');
      expect(cells).toHaveLength(VIEWER_CSV_COLUMNS.length);
      const [timestamp = '', ...numbers] = cells;
      const [viewerCount, avgViewers, peakViewers, minViewers, sampleCount, viewerMinutes, uniqueViewers] = numbers.map((cell) => (cell === '' ? undefined : Number(cell)));
      return {
        timestamp,
        viewerCount: viewerCount ?? NaN,
        avgViewers: avgViewers ?? NaN,
        peakViewers: peakViewers ?? NaN,
        minViewers: minViewers ?? NaN,
        sampleCount: sampleCount ?? NaN,
        viewerMinutes: viewerMinutes ?? NaN,
        ...(uniqueViewers === undefined ? {} : { uniqueViewers }),
      };
    });
  }

  it('takes from (inclusive) and to (exclusive), by key for a short range and from the hour copies for a long one', async () => {
    const short = await json(`?from=${at(2)}&to=${at(8)}`);
    expect(short.snapshots.map((point) => point.timestamp)).toEqual([2, 3, 4, 5, 6, 7].map(at));
    // 30 days around them: more than 360 windows, read from the hour copies.
    const long = await json(`?from=${new Date(base - 15 * DAY_MS).toISOString()}&to=${new Date(base + 15 * DAY_MS).toISOString()}`);
    expect(long.snapshots.map((point) => point.timestamp)).toEqual(Array.from({ length: 10 }, (_, i) => at(i)));
    // Not on a window boundary: the windows starting within.
    const odd = await json(`?from=${new Date(base + 90_000).toISOString()}&to=${new Date(base + 150_000).toISOString()}`);
    expect(odd.snapshots.map((point) => point.timestamp)).toEqual([at(2)]);
  });

  it("summarises the range: peak and its first moment, sample-weighted average, minimum, duration, viewer-minutes, uniques and watch time", async () => {
    const { summary, snapshots } = await json(`?from=${at(3)}&to=${at(10)}`);
    // Windows 3-9: averages 4..10 over 12 samples each, but window 9 has 6.
    const weighted = [4, 5, 6, 7, 8, 9].reduce((sum, avg) => sum + avg * 12, 0) + 10 * 6;
    const minutes = (weighted * 5_000) / 60_000;
    expect(summary).toEqual({
      snapshots: 7,
      peakViewers: 50,
      peakAt: at(4), // window 6 holds 50 too, later
      avgViewers: Math.round((weighted / 78) * 10_000) / 10_000,
      minViewers: 3,
      durationMs: 7 * 60_000,
      viewerMinutes: minutes,
      uniqueViewers: 7, // windows 5-9 saw hashes 6 … 12
      avgWatchMinutes: Math.round((minutes / 7) * 10_000) / 10_000,
    });
    expect(snapshots.map((point) => point.uniqueViewers)).toEqual([undefined, undefined, 3, 3, 3, 3, 3]);
    expect(snapshots.reduce((sum, point) => sum + point.viewerMinutes, 0)).toBeCloseTo(minutes, 9);
  });

  it('summarises an empty range as zeros and nulls', async () => {
    const { summary, snapshots } = await json(`?from=${at(20)}&to=${at(30)}`);
    expect(snapshots).toEqual([]);
    expect(summary).toEqual({
      snapshots: 0,
      peakViewers: 0,
      peakAt: null,
      avgViewers: 0,
      minViewers: 0,
      durationMs: 0,
      viewerMinutes: 0,
      uniqueViewers: null,
      avgWatchMinutes: null,
    });
  });

  it.each([
    ['from without to', `?from=${at(2)}`, 'querystring/to: is required with from'],
    ['to without from', `?to=${at(2)}`, 'querystring/from: is required with to'],
    ['to before from', `?from=${at(3)}&to=${at(2)}`, 'querystring/to: must be later than from'],
    ['to equal to from', `?from=${at(3)}&to=${at(3)}`, 'querystring/to: must be later than from'],
    ['timeRange with from and to', `?timeRange=24h&from=${at(2)}&to=${at(3)}`, 'querystring/timeRange: is not allowed with from and to'],
    ['a from that is not a date-time', '?from=yesterday&to=2026-01-01T00:00:00Z', 'querystring/from: must match format "date-time"'],
    ['an unknown format', '?format=xml', 'querystring/format: must be one of json, csv'],
  ])('answers %s with 400', async (_name, query, message) => {
    const reply = await get(query);
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({ success: false, error: { code: 'VALIDATION_ERROR', message } });
  });

  it('exports a range as CSV that parses back to the points the JSON API gives for it', async () => {
    for (const range of [`from=${at(0)}&to=${at(10)}`, `from=${at(3)}&to=${at(7)}`, 'timeRange=7d', '']) {
      const reply = await get(`?format=csv&${range}`);
      expect(reply.statusCode).toBe(200);
      expect(reply.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(reply.headers['content-disposition']).toBe(`attachment; filename="auction-${auction}-viewers.csv"`);
      const { snapshots } = await json(`?${range}`);
      expect(snapshots.length).toBeGreaterThan(0);
      expect(parseCsv(reply.body)).toEqual(snapshots);
    }
  });

  it('answers Accept: text/csv with the same CSV, unless format=json says otherwise', async () => {
    const range = `from=${at(0)}&to=${at(10)}`;
    const byFormat = await get(`?format=csv&${range}`);
    const byAccept = await get(`?${range}`, { accept: 'application/json;q=0.5, text/csv' });
    expect(byAccept.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(byAccept.body).toBe(byFormat.body);
    const json = await get(`?format=json&${range}`, { accept: 'text/csv' });
    expect(json.headers['content-type']).toMatch(/^application\/json/);
  });

  it('exports an empty range as the header alone, and still answers errors as JSON', async () => {
    expect((await get(`?format=csv&from=${at(20)}&to=${at(30)}`)).body).toBe(`${VIEWER_CSV_COLUMNS.join(',')}\r\n`);
    const forbidden = await get(`?format=csv&from=${at(0)}&to=${at(10)}`, {}, STRANGER);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
  });

  it('streams every stored window of a long range, never merged', async () => {
    const busy = await createAuction(app);
    const newest = windowOf(Date.now()) - 3 * DAY_MS;
    const count = 2 * MAX_VIEWER_POINTS + 11;
    const documents = Array.from({ length: count }, (_, i) => ({
      _id: snapshotKey(busy, newest - i * 60_000),
      auction: new ObjectId(busy),
      timestamp: new Date(newest - i * 60_000),
      viewerCount: i % 7,
      avgViewers: (i % 7) + 0.25,
      peakViewers: (i % 7) + 1,
      minViewers: i % 7,
      sampleCount: 12,
      createdAt: new Date(),
      updatedAt: new Date(),
    }));
    await database(app).collection<SnapshotDocument>('vieweranalytics').insertMany(documents);
    // What the ingest does after it stored them: mark their auction-hours.
    await app.viewerHours.noteStored(documents, Date.now());
    const reply = await app.inject({ method: 'GET', url: url(busy, '?timeRange=30d&format=csv'), headers: bearer(app, OWNER) });
    const rows = parseCsv(reply.body);
    expect(rows).toHaveLength(count);
    expect(rows.map((row) => row.timestamp)).toEqual(documents.map((document) => document.timestamp.toISOString()).reverse());
    const { data } = (await app.inject({ method: 'GET', url: url(busy, '?timeRange=30d'), headers: bearer(app, OWNER) })).json<{ data: ViewerAnalytics }>();
    expect(data.downsampled).toBe(true);
    expect(data.summary.snapshots).toBe(count);
    expect(rows.reduce((sum, row) => sum + row.viewerMinutes, 0)).toBeCloseTo(data.summary.viewerMinutes, 6);
  });
});
