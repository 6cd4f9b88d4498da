import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp, dropAndClose, internalKey, testConfig } from '../../helper.js';

const ADDED = '/api/v1/internal/added-later';

// A route someone adds to the group later, beside the lookup, with no guard of its own.
vi.mock(import('../../../src/routes/internal/auctions.js'), async (importOriginal) => {
  const { default: lookup } = await importOriginal();
  const withAddedRoute: FastifyPluginAsyncTypebox = async (fastify, options) => {
    await lookup(fastify, options);
    fastify.get('/internal/added-later', async () => ({ reached: true }));
  };
  return { default: withAddedRoute };
});

describe('the internal group’s guard', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  it('answers a route added to the group with 401 without the internal key', async () => {
    const reply = await app.inject({ method: 'GET', url: ADDED });
    expect(reply.statusCode).toBe(401);
    expect(reply.json()).toEqual({ success: false, error: { code: 'UNAUTHORIZED', message: 'missing or wrong x-internal-api-key header' } });
  });

  it('lets the internal key through to it', async () => {
    const reply = await app.inject({ method: 'GET', url: ADDED, headers: internalKey });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ reached: true });
  });

  it('documents it with the internal key and the guard’s errors', async () => {
    const operation = app.swagger().paths?.[ADDED]?.get;
    expect(operation?.security).toEqual([{ internalApiKey: [] }]);
    expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(['401', '429', '500', '503']));
  });
});
