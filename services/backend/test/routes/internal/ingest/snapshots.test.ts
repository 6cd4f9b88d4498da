import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Binary, ObjectId } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { MAX_BATCH_SNAPSHOTS, VisitorSketch, type BatchOutcome, type BatchSnapshot, type InvalidSnapshot } from '@viewer-analytics/shared';
import { applyInvalid, INVALID_SNAPSHOTS } from '../../../fixtures/invalid-snapshots.js';
import { startTcpProxy } from '../../../fixtures/tcp-proxy.js';
import { buildApp, createAuction, database, dropAndClose, internalKey, snapshot, testConfig, windowStart } from '../../../helper.js';

const URL = '/api/v1/analytics/snapshots';

interface ErrorBody {
  success: false;
  error: { code: string; message: string };
}

const outcome = (counts: Partial<BatchOutcome>): { success: true; data: BatchOutcome } => ({
  success: true,
  data: { stored: 0, duplicates: 0, disabled: 0, unknown: 0, invalid: [], ...counts },
});

describe('POST /api/v1/analytics/snapshots', () => {
  let app: FastifyInstance;
  let enabled: string[];
  let disabled: string;
  const stored = () => database(app).collection('vieweranalytics');

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
    enabled = await Promise.all(Array.from({ length: 10 }, () => createAuction(app)));
    disabled = await createAuction(app, { enableViewerAnalytics: false });
  });
  afterAll(async () => {
    await dropAndClose(app);
  });
  beforeEach(async () => {
    await stored().deleteMany({});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const post = (body: unknown, headers: Record<string, string> = internalKey) =>
    app.inject({ method: 'POST', url: URL, headers, payload: body as object });

  /** `count` snapshots spread over the enabled auctions, one per auction and minute. */
  function batch(count: number): BatchSnapshot[] {
    return Array.from({ length: count }, (_, i) => ({
      auctionId: enabled[i % enabled.length] ?? '',
      ...snapshot({ timestamp: windowStart(Math.floor(i / enabled.length)) }),
    }));
  }

  it('stores, skips and counts every kind of snapshot in one request', async () => {
    const first = enabled[0] ?? '';
    const previous = { auctionId: first, ...snapshot({ timestamp: windowStart(1) }) };
    expect((await post({ snapshots: [previous] })).json()).toEqual(outcome({ stored: 1 }));

    const reply = await post({
      snapshots: [
        { auctionId: first, ...snapshot() },
        previous,
        { auctionId: disabled, ...snapshot() },
        { auctionId: new ObjectId().toHexString(), ...snapshot() },
        { auctionId: new ObjectId().toHexString(), ...snapshot() },
        // The same window twice in one batch is stored once.
        { auctionId: enabled[1] ?? '', ...snapshot() },
        { auctionId: enabled[1] ?? '', ...snapshot() },
      ],
    });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual(outcome({ stored: 2, duplicates: 2, disabled: 1, unknown: 2 }));
    expect(await stored().countDocuments()).toBe(3);
  });

  it(`stores ${MAX_BATCH_SNAPSHOTS} snapshots in one request, and none again when the batch is retried`, async () => {
    const full = { snapshots: batch(MAX_BATCH_SNAPSHOTS) };
    const lookups = vi.spyOn(app.auctions, 'analyticsSettings');
    const writes = vi.spyOn(app.viewerAnalytics, 'insertMany');
    const first = await post(full);
    // One query for all of the batch's auctions, one bulk write for all of its snapshots.
    expect(lookups).toHaveBeenCalledTimes(1);
    expect(lookups.mock.calls[0]?.[0]).toHaveLength(enabled.length);
    expect(writes).toHaveBeenCalledTimes(1);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual(outcome({ stored: MAX_BATCH_SNAPSHOTS }));
    expect(await stored().countDocuments()).toBe(MAX_BATCH_SNAPSHOTS);

    const retry = await post(full);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(outcome({ duplicates: MAX_BATCH_SNAPSHOTS }));
    expect(await stored().countDocuments()).toBe(MAX_BATCH_SNAPSHOTS);
  });

  it('answers a batch of auctions without analytics without writing anything', async () => {
    const reply = await post({ snapshots: [{ auctionId: disabled, ...snapshot() }, { auctionId: new ObjectId().toHexString(), ...snapshot() }] });
    expect(reply.json()).toEqual(outcome({ disabled: 1, unknown: 1 }));
  });

  describe('stores the valid items of a batch and reports an invalid one by index, code and field', () => {
    const INDEX = 17;
    /** 20 valid items with item 17 replaced; the reply's `invalid` list. */
    async function postWithItem17(item: unknown): Promise<InvalidSnapshot[]> {
      const snapshots: unknown[] = batch(20);
      snapshots[INDEX] = item;
      const reply = await post({ snapshots });
      expect(reply.statusCode).toBe(200);
      const { data } = reply.json<{ data: BatchOutcome }>();
      expect(data).toMatchObject({ stored: 19, duplicates: 0, disabled: 0, unknown: 0 });
      expect(await stored().countDocuments()).toBe(19);
      return data.invalid;
    }

    it.each(INVALID_SNAPSHOTS)('item 17 with $name', async (invalid) => {
      const { auctionId, ...valid } = batch(20)[INDEX] ?? { auctionId: '' };
      const reported = await postWithItem17({ auctionId, ...applyInvalid(snapshot(valid), invalid) });
      expect(reported).toEqual([
        { index: INDEX, code: invalid.inFuture === true ? 'SNAPSHOT_IN_FUTURE' : 'INVALID_SNAPSHOT', field: invalid.field, message: expect.stringContaining(invalid.field) as string },
      ]);
    });

    it.each(['not-an-id', '665f1c2a9b1e8a001234567', 42])('item 17 with the auction id %s', async (auctionId) => {
      expect(await postWithItem17({ ...snapshot(), auctionId })).toEqual([
        { index: INDEX, code: 'INVALID_SNAPSHOT', field: 'auctionId', message: expect.stringMatching(/^auctionId must/) as string },
      ]);
    });

    it('item 17 without its auction id', async () => {
      expect(await postWithItem17(snapshot())).toEqual([{ index: INDEX, code: 'INVALID_SNAPSHOT', field: 'auctionId', message: 'auctionId is required' }]);
    });

    it.each([['a string', 'snapshot'], ['null', null], ['a list', [snapshot()]]])('item 17 that is %s', async (_name, item) => {
      expect(await postWithItem17(item)).toEqual([{ index: INDEX, code: 'INVALID_SNAPSHOT', field: '', message: 'the item must be an object' }]);
    });

    it('says where a window must start: a multiple of the window length since the epoch', async () => {
      const [reported] = await postWithItem17({ auctionId: enabled[0], ...snapshot({ timestamp: new Date(Date.parse(windowStart(1)) + 30_000).toISOString() }) });
      expect(reported?.message).toBe('timestamp must start a window: a multiple of 60000 ms since 1970-01-01T00:00:00Z');
    });

    it('reports every invalid item of a batch, and answers 200 even when none is valid', async () => {
      const reply = await post({ snapshots: [{ ...snapshot(), auctionId: 'x' }, { auctionId: enabled[0], ...snapshot({ timestamp: windowStart(-60) }) }] });
      expect(reply.statusCode).toBe(200);
      expect(reply.json<{ data: BatchOutcome }>().data).toMatchObject({ stored: 0, invalid: [{ index: 0, code: 'INVALID_SNAPSHOT' }, { index: 1, code: 'SNAPSHOT_IN_FUTURE' }] });
    });
  });

  it('stores the uniques and the visitor sketch as bytes, fills uniqueViewers from a sketch sent alone, and keeps old snapshots valid', async () => {
    const small = new VisitorSketch();
    [5, 1, 9].forEach((hash) => small.add(hash));
    const large = new VisitorSketch();
    // Well-mixed distinct hashes, as the socket server's HMACs are.
    for (let i = 0; i < 3_000; i++) large.add(createHash('sha256').update(String(i)).digest().readUInt32BE(0));
    const sketch = (of: VisitorSketch) => Buffer.from(of.toBytes()).toString('base64');
    const [a = '', b = '', c = '', d = ''] = enabled;
    const reply = await post({
      snapshots: [
        { auctionId: a, ...snapshot({ uniqueViewers: 3, visitorSketch: sketch(small) }) },
        { auctionId: b, ...snapshot({ visitorSketch: sketch(large) }) },
        { auctionId: c, ...snapshot({ uniqueViewers: 7 }) },
        { auctionId: d, ...snapshot() },
      ],
    });
    expect(reply.json()).toEqual(outcome({ stored: 4 }));
    const byAuction = async (id: string) => stored().findOne({ auction: new ObjectId(id) });
    const first = await byAuction(a);
    expect(first?.['uniqueViewers']).toBe(3);
    expect(first?.['visitors']).toBeInstanceOf(Binary);
    expect(VisitorSketch.fromBytes((first?.['visitors'] as Binary).buffer).toBytes()).toEqual(small.toBytes());
    const second = await byAuction(b);
    expect(second?.['uniqueViewers']).toBe(large.estimate());
    expect(Math.abs(large.estimate() / 3_000 - 1)).toBeLessThan(3 * VisitorSketch.RELATIVE_STANDARD_ERROR);
    expect((second?.['visitors'] as Binary).length()).toBe(large.toBytes().length);
    expect(await byAuction(c)).toMatchObject({ uniqueViewers: 7 });
    expect(await byAuction(c)).not.toHaveProperty('visitors');
    const old = await byAuction(d);
    expect(old).not.toHaveProperty('uniqueViewers');
    expect(old).not.toHaveProperty('visitors');
  });

  it('refuses a visitorSketch longer than any sketch can be', async () => {
    const reply = await post({ snapshots: [{ auctionId: enabled[0], ...snapshot({ visitorSketch: 'A'.repeat(5_468) }) }] });
    expect(reply.json<{ data: BatchOutcome }>().data.invalid).toEqual([
      { index: 0, code: 'INVALID_SNAPSHOT', field: 'visitorSketch', message: expect.stringMatching(/^visitorSketch must not have more than 5464 characters/) as string },
    ]);
  });

  it('takes the window length from SAMPLE_INTERVAL_MS × SAMPLES_PER_SNAPSHOT', async () => {
    const short = await buildApp(testConfig(import.meta.filename, { SAMPLE_INTERVAL_MS: '100', SAMPLES_PER_SNAPSHOT: '3' }));
    try {
      const auctionId = await createAuction(short);
      const base = Math.floor(Date.now() / 300) * 300;
      const at = (ms: number) => ({ auctionId, ...snapshot({ timestamp: new Date(ms).toISOString() }) });
      const reply = await short.inject({ method: 'POST', url: URL, headers: internalKey, payload: { snapshots: [at(base - 300), at(base - 600), at(base - 450)] } });
      expect(reply.json<{ data: BatchOutcome }>().data).toMatchObject({
        stored: 2,
        invalid: [{ index: 2, code: 'INVALID_SNAPSHOT', field: 'timestamp', message: 'timestamp must start a window: a multiple of 300 ms since 1970-01-01T00:00:00Z' }],
      });
    } finally {
      await dropAndClose(short);
    }
  });

  it.each([
    ['no snapshots', { snapshots: [] }, 'body/snapshots'],
    [`more than ${MAX_BATCH_SNAPSHOTS} snapshots`, null, 'body/snapshots'],
    ['snapshots that are not a list', { snapshots: {} }, 'body/snapshots'],
    ['no snapshots field', {}, 'body/snapshots'],
    ['an unknown field', { snapshots: [], extra: true }, 'body/'],
  ])('answers a body with %s with 400', async (_name, body, path) => {
    const reply = await post(body ?? { snapshots: batch(MAX_BATCH_SNAPSHOTS + 1) });
    expect(reply.statusCode).toBe(400);
    const { error } = reply.json<ErrorBody>();
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.message).toContain(path);
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const reply = await app.inject({ method: 'POST', url: URL, headers: { ...internalKey, 'content-type': 'application/json' }, payload: '{"snapshots":[' });
    expect(reply.statusCode).toBe(400);
    expect(reply.json<ErrorBody>().error.code).toBe('INVALID_JSON');
  });

  it('answers a wrong content type with 415', async () => {
    const reply = await app.inject({ method: 'POST', url: URL, headers: { ...internalKey, 'content-type': 'text/plain' }, payload: '{}' });
    expect(reply.statusCode).toBe(415);
  });

  it.each([
    ['no key', {}],
    ['a wrong key', { 'x-internal-api-key': 'test-internal-key-0123456789abcdeX' }],
  ])('answers %s with 401 and stores nothing', async (_name, headers: Record<string, string>) => {
    const reply = await post({ snapshots: batch(3) }, headers);
    expect(reply.statusCode).toBe(401);
    expect(reply.json<ErrorBody>().error.code).toBe('UNAUTHORIZED');
    expect(await stored().countDocuments()).toBe(0);
  });
});

describe('POST /api/v1/analytics/snapshots when the database goes away during the insert', () => {
  it('answers 503, not stored, and stores the snapshot when it is sent again', async () => {
    // The relay lets the first insert of snapshots through and holds back the second.
    const proxy = await startTcpProxy(inject('mongoUri'), { stall: { command: 'insert', collection: 'vieweranalytics', after: 1 } });
    const app = await buildApp(testConfig(import.meta.filename, { MONGODB_URI: proxy.uri }));
    let auctionId = '';
    const post = (minutesAgo: number) =>
      app.inject({ method: 'POST', url: URL, headers: internalKey, payload: { snapshots: [{ auctionId, ...snapshot({ timestamp: windowStart(minutesAgo) }) }] } });
    try {
      auctionId = await createAuction(app);
      // The first window marks the auction's hour in this process, so the second one writes nothing else after its insert.
      expect((await post(1)).json()).toEqual(outcome({ stored: 1 }));

      const interrupted = post(0);
      await proxy.stalled;
      await proxy.cut();
      const reply = await interrupted;
      // The driver wraps the lost connection in a bulk write error with no write error in it: not "all duplicates".
      expect(reply.statusCode).toBe(503);
      expect(reply.json<ErrorBody>().error.code).toBe('DATABASE_UNAVAILABLE');

      await proxy.restore();
      await vi.waitFor(
        async () => {
          expect((await post(0)).json()).toEqual(outcome({ stored: 1 }));
        },
        { timeout: 20_000, interval: 500 },
      );
      expect(await database(app).collection('vieweranalytics').countDocuments({ auction: new ObjectId(auctionId) })).toBe(2);
    } finally {
      await proxy.restore().catch(() => undefined);
      await dropAndClose(app);
      await proxy.cut();
    }
  }, 30_000);
});
