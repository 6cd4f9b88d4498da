import type { FastifyInstance } from 'fastify';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auction, TokenClaims } from '@viewer-analytics/shared';
import { ADMIN, bearer, buildApp, createAuction, dropAndClose, OWNER, STRANGER, testConfig } from '../../helper.js';

const URL = '/api/v1/auctions';

describe('POST /api/v1/auctions and GET /api/v1/auctions/:id', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const create = (body: unknown, claims: TokenClaims = OWNER) =>
    app.inject({ method: 'POST', url: URL, headers: bearer(app, claims), payload: body as object });
  const read = (id: string, claims: TokenClaims = OWNER) => app.inject({ method: 'GET', url: `${URL}/${id}`, headers: bearer(app, claims) });

  it('creates an auction owned by whoever creates it, analytics off: 201, then readable', async () => {
    const before = Date.now();
    const reply = await create({ title: 'Vintage cameras' });
    expect(reply.statusCode).toBe(201);
    const { data } = reply.json<{ success: true; data: Auction }>();
    expect(data).toMatchObject({ title: 'Vintage cameras', ownerId: OWNER.sub, enableViewerAnalytics: false });
    expect(data.id).toMatch(/^[0-9a-f]{24}$/);
    expect(Date.parse(data.createdAt)).toBeGreaterThanOrEqual(before - 1000);

    const read_ = await read(data.id);
    expect(read_.statusCode).toBe(200);
    expect(read_.json()).toEqual({ success: true, data });
  });

  it('lets anyone name themselves as the owner', async () => {
    expect((await create({ title: 'Mine', ownerId: OWNER.sub })).json<{ data: Auction }>().data.ownerId).toBe(OWNER.sub);
  });

  it('lets an admin create an auction for another owner, who can then read it', async () => {
    const reply = await create({ title: 'For a seller', ownerId: STRANGER.sub }, ADMIN);
    expect(reply.statusCode).toBe(201);
    const { data } = reply.json<{ data: Auction }>();
    expect(data.ownerId).toBe(STRANGER.sub);
    expect((await read(data.id, STRANGER)).statusCode).toBe(200);
  });

  it('answers anyone else naming another owner with 403', async () => {
    const reply = await create({ title: 'Not mine', ownerId: STRANGER.sub });
    expect(reply.statusCode).toBe(403);
    expect(reply.json()).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
  });

  it.each([
    ['no title', {}, 'body/title: is required'],
    ['an empty title', { title: '' }, 'body/title: must NOT have fewer than 1 characters'],
    ['a title that is no string', { title: 5 }, 'body/title: must be string'],
    ['an unknown field', { title: 't', enableViewerAnalytics: true }, 'body/enableViewerAnalytics: is not allowed'],
  ])('answers a body with %s with 400', async (_name, body, message) => {
    const reply = await create(body);
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({ success: false, error: { code: 'VALIDATION_ERROR', message } });
  });

  it('answers malformed JSON with 400 and a wrong content type with 415', async () => {
    const headers = bearer(app, OWNER);
    const invalid = await app.inject({ method: 'POST', url: URL, headers: { ...headers, 'content-type': 'application/json' }, payload: '{title' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ error: { code: 'INVALID_JSON' } });
    const wrongType = await app.inject({ method: 'POST', url: URL, headers: { ...headers, 'content-type': 'text/plain' }, payload: 'title' });
    expect(wrongType.statusCode).toBe(415);
  });

  it('lets an admin read any auction, and answers anyone else with 403', async () => {
    const id = await createAuction(app);
    expect((await read(id, ADMIN)).statusCode).toBe(200);
    const reply = await read(id, STRANGER);
    expect(reply.statusCode).toBe(403);
    expect(reply.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('answers an unknown auction with 404 and a malformed id with 400', async () => {
    expect((await read(new ObjectId().toHexString())).json()).toMatchObject({ error: { code: 'AUCTION_NOT_FOUND' } });
    expect((await read('123')).statusCode).toBe(400);
  });

  it('answers without a token with 401', async () => {
    expect((await app.inject({ method: 'POST', url: URL, payload: { title: 't' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: `${URL}/${new ObjectId().toHexString()}` })).statusCode).toBe(401);
  });
});
