import type { FastifyInstance } from 'fastify';
import { ObjectId, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MAX_VIEWER_POINTS, snapshotKey, TIME_RANGES, type SnapshotDocument, type TimeRange, type ViewerAnalytics } from '@viewer-analytics/shared';
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
    });
  });

  it(`merges consecutive windows into at most ${String(MAX_VIEWER_POINTS)} points when the range holds more, and says so`, async () => {
    const busy = await createAuction(app);
    const windows = 3 * MAX_VIEWER_POINTS - 7;
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

    const { data } = (await get(url(busy, '?timeRange=30d'))).json<{ data: ViewerAnalytics }>();
    expect(data.downsampled).toBe(true);
    expect(data.snapshots.length).toBeLessThanOrEqual(MAX_VIEWER_POINTS);
    expect(data.snapshots.length).toBeGreaterThan(MAX_VIEWER_POINTS / 2);
    // 4,493 windows: in buckets of 2 minutes still 2,247, of 4 minutes 1,124.
    expect(data.bucketMs).toBe(240_000);

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
      });
    }

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

  it('reads a range of up to 360 windows by key only, and a longer one with one range query', async () => {
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
    await get(url(auction, '?timeRange=24h'));
    expect(reads()).toEqual([expect.objectContaining({ auction: new ObjectId(auction) })]);
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
