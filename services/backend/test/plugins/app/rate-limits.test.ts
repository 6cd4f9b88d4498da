import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, buildApp, createAuction, dropAndClose, internalKey, OWNER, snapshot, STRANGER, testConfig } from '../../helper.js';

const LIMIT = 3;
const FAILURES = 4;

describe('rate limits', () => {
  let app: FastifyInstance;
  let auction: string;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename, { RATE_LIMIT_MAX: String(LIMIT), AUTH_FAILURE_LIMIT_MAX: String(FAILURES), RATE_LIMIT_WINDOW_MS: '60000' }));
    auction = await createAuction(app);
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const expectRateLimited = (reply: Awaited<ReturnType<FastifyInstance['inject']>>) => {
    expect(reply.statusCode).toBe(429);
    const body = reply.json<{ success: boolean; error: { code: string; message: string } }>();
    expect(body).toMatchObject({ success: false, error: { code: 'RATE_LIMITED' } });
    expect(body.error.message).toMatch(/^Too many requests: retry in \d+ s$/);
    expect(Number(reply.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(reply.headers['retry-after'])).toBeLessThanOrEqual(60);
  };

  it('allows RATE_LIMIT_MAX dashboard requests per user across the API, then answers 429 with Retry-After', async () => {
    const headers = bearer(app, OWNER);
    const urls = [`/api/v1/auctions/${auction}`, `/api/v1/auctions/${auction}/settings`, `/api/v1/auctions/${auction}/analytics/viewers`];
    for (const url of urls) expect((await app.inject({ url, headers })).statusCode).toBe(200);
    expectRateLimited(await app.inject({ url: urls[0] ?? '', headers }));
    expectRateLimited(await app.inject({ method: 'POST', url: '/api/v1/auctions', headers, payload: { title: 'Spam' } }));
    // Another user from the same address has a budget of its own.
    expect((await app.inject({ url: `/api/v1/auctions/${auction}`, headers: bearer(app, STRANGER) })).statusCode).toBe(403);
  });

  it('answers failed authentications from one IP with 401, then 429, and never throttles a valid internal key', async () => {
    const wrongKey = { 'x-internal-api-key': 'wrong-key-0123456789abcdef' };
    const lookup = `/api/v1/internal/auctions/${auction}`;
    const failures = [
      () => app.inject({ url: lookup, headers: wrongKey }),
      () => app.inject({ url: lookup }),
      () => app.inject({ url: `/api/v1/auctions/${auction}`, headers: { authorization: 'Bearer not.a.jwt' } }),
      () => app.inject({ url: `/api/v1/auctions/${auction}` }),
    ];
    for (const fail of failures) expect((await fail()).statusCode).toBe(401);
    for (const fail of failures) expectRateLimited(await fail());

    // The socket server's own calls, from the same IP, still go through: many of them.
    for (let i = 0; i < 3 * FAILURES; i++) expect((await app.inject({ url: lookup, headers: internalKey })).statusCode).toBe(200);
    const ingest = await app.inject({ method: 'POST', url: '/api/v1/analytics/snapshots', headers: internalKey, payload: { snapshots: [{ auctionId: auction, ...snapshot() }] } });
    expect(ingest.json()).toMatchObject({ success: true, data: { stored: 1 } });

    // Another address is not affected.
    expect((await app.inject({ url: lookup, headers: wrongKey, remoteAddress: '10.0.0.2' })).statusCode).toBe(401);
  });
});
