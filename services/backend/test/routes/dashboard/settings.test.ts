import type { FastifyInstance } from 'fastify';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, bearer, buildApp, createAuction, dropAndClose, OWNER, STRANGER, testConfig } from '../../helper.js';
import type { TokenClaims } from '@viewer-analytics/shared';

const url = (auctionId: string) => `/api/v1/auctions/${auctionId}/settings`;

describe('GET and PATCH /api/v1/auctions/:id/settings', () => {
  let app: FastifyInstance;
  let auction: string;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
    auction = await createAuction(app, { enableViewerAnalytics: false });
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const read = (id: string, claims: TokenClaims = OWNER) => app.inject({ method: 'GET', url: url(id), headers: bearer(app, claims) });
  const change = (id: string, body: unknown, claims: TokenClaims = OWNER) =>
    app.inject({ method: 'PATCH', url: url(id), headers: bearer(app, claims), payload: body as object });

  it('starts with viewer analytics off', async () => {
    const reply = await read(auction);
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ success: true, data: { enableViewerAnalytics: false } });
  });

  it('lets the owner turn analytics on and off, and the change is stored', async () => {
    const on = await change(auction, { enableViewerAnalytics: true });
    expect(on.statusCode).toBe(200);
    expect(on.json()).toEqual({ success: true, data: { enableViewerAnalytics: true } });
    expect((await app.auctions.findById(new ObjectId(auction)))?.enableViewerAnalytics).toBe(true);
    expect((await read(auction)).json()).toEqual({ success: true, data: { enableViewerAnalytics: true } });

    expect((await change(auction, { enableViewerAnalytics: false })).json()).toEqual({ success: true, data: { enableViewerAnalytics: false } });
  });

  it('lets an admin read and change any auction', async () => {
    expect((await read(auction, ADMIN)).statusCode).toBe(200);
    expect((await change(auction, { enableViewerAnalytics: true }, ADMIN)).json()).toEqual({ success: true, data: { enableViewerAnalytics: true } });
  });

  it("answers someone else's auction with 403, and changes nothing", async () => {
    const before = (await app.auctions.findById(new ObjectId(auction)))?.enableViewerAnalytics;
    expect((await read(auction, STRANGER)).statusCode).toBe(403);
    const reply = await change(auction, { enableViewerAnalytics: !before }, STRANGER);
    expect(reply.statusCode).toBe(403);
    expect(reply.json()).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
    expect((await app.auctions.findById(new ObjectId(auction)))?.enableViewerAnalytics).toBe(before);
  });

  it('answers an unknown auction with 404', async () => {
    const unknown = new ObjectId().toHexString();
    expect((await read(unknown)).json()).toMatchObject({ error: { code: 'AUCTION_NOT_FOUND' } });
    expect((await change(unknown, { enableViewerAnalytics: true })).statusCode).toBe(404);
  });

  it.each([
    ['a string for the flag', { enableViewerAnalytics: 'true' }, 'body/enableViewerAnalytics: must be boolean'],
    ['no flag', {}, 'body/enableViewerAnalytics: is required'],
    ['an unknown field', { enableViewerAnalytics: true, title: 'x' }, 'body/title: is not allowed'],
  ])('answers %s with 400', async (_name, body, message) => {
    const reply = await change(auction, body);
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({ success: false, error: { code: 'VALIDATION_ERROR', message } });
  });

  it('answers a malformed id with 400', async () => {
    expect((await read('nope')).statusCode).toBe(400);
    expect((await change('nope', { enableViewerAnalytics: true })).statusCode).toBe(400);
  });

  it('answers without a token with 401', async () => {
    expect((await app.inject({ method: 'GET', url: url(auction) })).statusCode).toBe(401);
    expect((await app.inject({ method: 'PATCH', url: url(auction), payload: { enableViewerAnalytics: true } })).statusCode).toBe(401);
  });
});
