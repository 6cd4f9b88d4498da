import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createAuction, dropAndClose, TEST_INTERNAL_API_KEY, testConfig } from '../../helper.js';

describe('the internal API key', () => {
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
    url = `/api/v1/internal/auctions/${await createAuction(app)}`;
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const lookup = (headers: Record<string, string | string[]>) => app.inject({ method: 'GET', url, headers });

  it('lets the exact key through', async () => {
    expect((await lookup({ 'x-internal-api-key': TEST_INTERNAL_API_KEY })).statusCode).toBe(200);
  });

  it.each<[string, Record<string, string | string[]>]>([
    ['no key', {}],
    ['an empty key', { 'x-internal-api-key': '' }],
    ['the key in other case', { 'x-internal-api-key': TEST_INTERNAL_API_KEY.toUpperCase() }],
    ['a prefix of the key', { 'x-internal-api-key': TEST_INTERNAL_API_KEY.slice(0, -1) }],
    ['the key and more', { 'x-internal-api-key': `${TEST_INTERNAL_API_KEY}0` }],
    ['the key twice', { 'x-internal-api-key': [TEST_INTERNAL_API_KEY, TEST_INTERNAL_API_KEY] }],
    ['the key in another header', { authorization: TEST_INTERNAL_API_KEY }],
  ])('answers %s with 401 UNAUTHORIZED, without echoing the key', async (_name, headers) => {
    const reply = await lookup(headers);
    expect(reply.statusCode).toBe(401);
    expect(reply.json()).toEqual({ success: false, error: { code: 'UNAUTHORIZED', message: 'missing or wrong x-internal-api-key header' } });
  });
});
