import type { FastifyInstance } from 'fastify';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createAuction, dropAndClose, internalKey, testConfig } from '../../helper.js';

const url = (auctionId: string) => `/api/v1/internal/auctions/${auctionId}`;

describe('GET /api/v1/internal/auctions/:id', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const lookup = (id: string, headers: Record<string, string> = internalKey) => app.inject({ method: 'GET', url: url(id), headers });

  it.each([true, false])('answers an auction with analytics %s: 200 and its id, nothing about analytics', async (enableViewerAnalytics) => {
    const id = await createAuction(app, { enableViewerAnalytics });
    const reply = await lookup(id);
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ success: true, data: { id } });
  });

  it('answers an unknown auction with 404 AUCTION_NOT_FOUND, not cached', async () => {
    const id = new ObjectId().toHexString();
    const reply = await lookup(id);
    expect(reply.statusCode).toBe(404);
    expect(reply.json()).toEqual({ success: false, error: { code: 'AUCTION_NOT_FOUND', message: `auction ${id} not found` } });
    expect(reply.headers['cache-control']).toBeUndefined();
  });

  it('answers a malformed id with 400', async () => {
    const reply = await lookup('not-an-object-id');
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({ success: false, error: { code: 'VALIDATION_ERROR', message: 'params/id: must match pattern "^[0-9a-fA-F]{24}$"' } });
  });

  it.each([
    ['no key', {}],
    ['a wrong key', { 'x-internal-api-key': 'nope' }],
    ['a bearer token instead of the key', { authorization: 'Bearer x' }],
  ])('answers %s with 401', async (_name, headers: Record<string, string>) => {
    const reply = await lookup(new ObjectId().toHexString(), headers);
    expect(reply.statusCode).toBe(401);
    expect(reply.json()).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
  });
});
