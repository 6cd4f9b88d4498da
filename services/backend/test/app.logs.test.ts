import type { FastifyInstance } from 'fastify';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  bearer,
  buildApp,
  createAuction,
  dropAndClose,
  internalKey,
  logCollector,
  OWNER,
  snapshot,
  TEST_INTERNAL_API_KEY,
  TEST_JWT_SECRET,
  testConfig,
  windowStart,
} from './helper.js';

describe('what the logs tell an operator', () => {
  const logs = logCollector();
  let app: FastifyInstance;
  let enabled: string;
  let token: string;

  beforeAll(async () => {
    // The most verbose level: nothing secret may appear even there.
    app = await buildApp(testConfig(import.meta.filename, { LOG_LEVEL: 'trace' }), { logs });
    enabled = await createAuction(app);
    token = bearer(app, OWNER).authorization;

    const single = (id: string, body: object, headers: Record<string, string> = internalKey) =>
      app.inject({ method: 'POST', url: `/api/v1/auctions/${id}/analytics/snapshot`, headers, payload: body });
    await single(enabled, snapshot());
    await single(enabled, snapshot());
    await single(new ObjectId().toHexString(), snapshot());
    await single(enabled, snapshot({ minViewers: 500 }));
    await single(enabled, snapshot(), { 'x-internal-api-key': `${TEST_INTERNAL_API_KEY}-wrong` });
    await app.inject({
      method: 'POST',
      url: '/api/v1/analytics/snapshots',
      headers: internalKey,
      payload: { snapshots: [{ auctionId: enabled, ...snapshot({ timestamp: windowStart(1) }) }, { auctionId: enabled, ...snapshot() }] },
    });
    await app.inject({ method: 'GET', url: `/api/v1/auctions/${enabled}/analytics/viewers`, headers: { authorization: token } });
    await app.inject({ method: 'GET', url: `/api/v1/auctions/${enabled}/analytics/viewers`, headers: { authorization: `${token}x` } });
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const withMessage = (msg: string) => logs.lines.filter((line) => line['msg'] === msg);

  it('one info line per saved snapshot, naming the auction and window', () => {
    expect(withMessage('viewer snapshot saved')).toEqual([
      expect.objectContaining({ level: 30, auctionId: enabled, timestamp: snapshot().timestamp }),
    ]);
  });

  it('one info line per snapshot not stored, with the reason', () => {
    expect(withMessage('viewer snapshot not stored').map((line) => line['reason'])).toEqual(['duplicate', 'unknown_auction']);
  });

  it('one info line per batch, with its counts', () => {
    expect(withMessage('viewer snapshot batch processed')).toEqual([
      expect.objectContaining({ level: 30, received: 2, stored: 1, duplicates: 1, disabled: 0, unknown: 0 }),
    ]);
  });

  it('a warning per rejected snapshot request, with the reason and what was wrong', () => {
    const rejected = withMessage('snapshot request rejected');
    expect(rejected.map(({ level, reason }) => ({ level, reason }))).toEqual([
      { level: 40, reason: 'validation_error' },
      { level: 40, reason: 'unauthorized' },
    ]);
    expect(rejected[0]?.['detail']).toMatch(/^body\/minViewers: /);
  });

  it('keeps Fastify’s request logging', () => {
    expect(withMessage('incoming request').length).toBeGreaterThan(0);
    expect(withMessage('request completed').length).toBeGreaterThan(0);
  });

  it('writes no request log line for health, readiness and metrics polls, even at trace level', async () => {
    // /ready says 503 until the process has loaded its hour figures.
    await vi.waitFor(() => {
      expect(app.viewerHours.warmedUp()).toBe(true);
    });
    const before = logs.lines.length;
    for (const url of ['/health', '/ready', '/metrics']) expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
    expect(logs.lines.slice(before)).toEqual([]);
  });

  it('never the internal key, the JWT secret or a bearer token', () => {
    const text = JSON.stringify(logs.lines);
    expect(text).not.toContain(TEST_INTERNAL_API_KEY);
    expect(text).not.toContain(TEST_JWT_SECRET);
    expect(text).not.toContain(token.replace('Bearer ', ''));
  });
});
