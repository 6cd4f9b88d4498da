import type { FastifyInstance } from 'fastify';
import { ObjectId } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { applyInvalid, INVALID_SNAPSHOTS } from '../../../fixtures/invalid-snapshots.js';
import { buildApp, createAuction, database, dropAndClose, internalKey, snapshot, testConfig, windowStart } from '../../../helper.js';

const url = (auctionId: string) => `/api/v1/auctions/${auctionId}/analytics/snapshot`;

describe('POST /api/v1/auctions/:id/analytics/snapshot', () => {
  let app: FastifyInstance;
  let enabled: string;
  let disabled: string;
  const stored = () => database(app).collection('vieweranalytics');

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename, { BODY_LIMIT_BYTES: '1024' }));
    enabled = await createAuction(app);
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

  const post = (auctionId: string, body: unknown, headers: Record<string, string> = internalKey) =>
    app.inject({ method: 'POST', url: url(auctionId), headers, payload: body as object });

  it('stores a snapshot of an auction with analytics on: 201, with real dates and ids', async () => {
    const window = windowStart(3);
    // The same instant two hours east of UTC.
    const withOffset = `${new Date(Date.parse(window) + 2 * 3_600_000).toISOString().slice(0, -5)}+02:00`;
    const sent = snapshot({ timestamp: withOffset, avgViewers: 444.5 });
    const reply = await post(enabled, sent);
    expect(reply.statusCode).toBe(201);
    expect(reply.json()).toEqual({ success: true, data: { stored: true } });

    const documents = await stored().find().toArray();
    expect(documents).toHaveLength(1);
    const [document] = documents;
    expect(document?.['auction']).toEqual(new ObjectId(enabled));
    // Normalized to UTC: the offset names the same instant.
    expect(document?.['timestamp']).toEqual(new Date(window));
    expect(document?.['createdAt']).toBeInstanceOf(Date);
    expect(document?.['updatedAt']).toBeInstanceOf(Date);
    expect(document).toMatchObject({ viewerCount: 475, avgViewers: 444.5, peakViewers: 475, minViewers: 420, sampleCount: 12 });
  });

  it('stores the window\'s unique viewers and visitor sketch', async () => {
    const visitorSketch = Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 2]).toString('base64');
    expect((await post(enabled, snapshot({ uniqueViewers: 2, visitorSketch }))).statusCode).toBe(201);
    const document = await stored().findOne();
    expect(document).toMatchObject({ uniqueViewers: 2 });
    expect(Buffer.from((document?.['visitors'] as { buffer: Uint8Array }).buffer).toString('base64')).toBe(visitorSketch);
  });

  it('stores a retry once: the second is 200 stored:false, reason duplicate', async () => {
    const sent = snapshot();
    expect((await post(enabled, sent)).statusCode).toBe(201);
    // The same instant written differently is the same window.
    const again = await post(enabled, { ...sent, timestamp: sent.timestamp.replace('.000Z', 'Z') });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ success: true, data: { stored: false, reason: 'duplicate' } });
    expect(await stored().countDocuments()).toBe(1);
  });

  it('answers concurrent requests each with its own outcome, from fewer bulk writes than requests (group commit)', async () => {
    const writes = vi.spyOn(app.viewerAnalytics, 'insertMany');
    const unknown = new ObjectId().toHexString();
    // 40 windows of the auction, one of them twice, beside an auction with analytics off and one that does not exist.
    const sent = [
      ...Array.from({ length: 40 }, (_, minute) => ({ auctionId: enabled, body: snapshot({ timestamp: windowStart(minute + 1) }) })),
      { auctionId: enabled, body: snapshot({ timestamp: windowStart(7) }) },
      { auctionId: disabled, body: snapshot() },
      { auctionId: unknown, body: snapshot() },
    ];
    const replies = await Promise.all(sent.map(({ auctionId, body }) => post(auctionId, body)));

    const statuses = replies.map((reply) => reply.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(40);
    expect(replies.filter((reply) => reply.statusCode === 200).map((reply) => reply.json<{ data: { reason: string } }>().data.reason).sort()).toEqual([
      'analytics_disabled',
      'duplicate',
    ]);
    expect(statuses.at(-1)).toBe(404);
    expect(await stored().countDocuments({ auction: new ObjectId(enabled) })).toBe(40);
    expect(writes.mock.calls.length).toBeLessThan(sent.length / 2);
  });

  it('accepts upper-case hex ids as the same auction', async () => {
    expect((await post(enabled.toUpperCase(), snapshot())).statusCode).toBe(201);
  });

  it('skips an auction with analytics off: 200 stored:false, reason analytics_disabled', async () => {
    const reply = await post(disabled, snapshot());
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ success: true, data: { stored: false, reason: 'analytics_disabled' } });
    expect(await stored().countDocuments()).toBe(0);
  });

  it('answers 404 AUCTION_NOT_FOUND for an auction that does not exist', async () => {
    const unknown = new ObjectId().toHexString();
    const reply = await post(unknown, snapshot());
    expect(reply.statusCode).toBe(404);
    expect(reply.json()).toEqual({ success: false, error: { code: 'AUCTION_NOT_FOUND', message: `auction ${unknown} not found` } });
  });

  it('accepts a partial window (sampleCount 1) and a window up to 5 minutes ahead', async () => {
    expect((await post(enabled, snapshot({ sampleCount: 1, viewerCount: 3, avgViewers: 3, peakViewers: 3, minViewers: 3 }))).statusCode).toBe(201);
    expect((await post(enabled, snapshot({ timestamp: windowStart(-4) }))).statusCode).toBe(201);
  });

  describe('refuses an invalid snapshot with 400 naming the field, storing nothing', () => {
    it.each(INVALID_SNAPSHOTS)('$name → $field', async (invalid) => {
      const reply = await post(enabled, applyInvalid(snapshot(), invalid));
      expect(reply.statusCode).toBe(400);
      const { success, error } = reply.json<{ success: boolean; error: { code: string; message: string } }>();
      expect(success).toBe(false);
      // A window ahead of the backend's clock says so: the sender may try again later.
      expect(error.code).toBe(invalid.inFuture === true ? 'SNAPSHOT_IN_FUTURE' : 'VALIDATION_ERROR');
      expect(error.message).toContain(`body/${invalid.field}`);
      expect(await stored().countDocuments()).toBe(0);
    });

    it.each(['xyz', '665f1c2a9b1e8a001234567', '665f1c2a9b1e8a00123456789', '665f1c2a9b1e8a001234567g'])(
      'a malformed auction id in the path (%s)',
      async (id) => {
        const reply = await post(id, snapshot());
        expect(reply.statusCode).toBe(400);
        expect(reply.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
        expect(reply.json<{ error: { message: string } }>().error.message).toMatch(/^params\/id: /);
      },
    );

    it.each([
      ['an array', [snapshot()]],
      ['a string', 'snapshot'],
      ['null', null],
    ])('a body that is %s', async (_name, body) => {
      const reply = await app.inject({ method: 'POST', url: url(enabled), headers: { ...internalKey, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
      expect(reply.statusCode).toBe(400);
      expect(reply.json()).toMatchObject({ error: { code: 'VALIDATION_ERROR', message: 'body: must be object' } });
    });
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const reply = await app.inject({
      method: 'POST',
      url: url(enabled),
      headers: { ...internalKey, 'content-type': 'application/json' },
      payload: '{"timestamp": "2025-10-21T14:15:00Z", "viewerCount": 4',
    });
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toMatchObject({ success: false, error: { code: 'INVALID_JSON' } });
  });

  it('answers an empty JSON body with 400 INVALID_JSON', async () => {
    const reply = await app.inject({ method: 'POST', url: url(enabled), headers: { ...internalKey, 'content-type': 'application/json' }, payload: '' });
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toMatchObject({ error: { code: 'INVALID_JSON' } });
  });

  it('answers a body over BODY_LIMIT_BYTES with 413 PAYLOAD_TOO_LARGE', async () => {
    const reply = await post(enabled, { ...snapshot(), padding: 'x'.repeat(2048) });
    expect(reply.statusCode).toBe(413);
    expect(reply.json()).toEqual({ success: false, error: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body is larger than 1024 bytes' } });
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])('answers Content-Type %s with 415', async (type) => {
    const reply = await app.inject({ method: 'POST', url: url(enabled), headers: { ...internalKey, 'content-type': type }, payload: JSON.stringify(snapshot()) });
    expect(reply.statusCode).toBe(415);
    expect(reply.json()).toMatchObject({ success: false, error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it.each([
    ['no key', {}],
    ['a wrong key', { 'x-internal-api-key': 'wrong-key-0123456789abcdef' }],
    ['the key with a different length', { 'x-internal-api-key': 'short' }],
  ])('answers %s with 401, before reading the body', async (_name, headers: Record<string, string>) => {
    const reply = await post(enabled, { too: 'x'.repeat(4096) }, headers);
    expect(reply.statusCode).toBe(401);
    expect(reply.json()).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
    expect(await stored().countDocuments()).toBe(0);
  });
});
