import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bearer, buildApp, dropAndClose, OWNER, testConfig } from '../../helper.js';

const ADDED = '/api/v1/added-later';
const LIMIT = 2;

// A route someone adds to the group later, beside the settings, with no guard of its own.
vi.mock(import('../../../src/routes/dashboard/settings.js'), async (importOriginal) => {
  const { default: settings } = await importOriginal();
  const withAddedRoute: FastifyPluginAsyncTypebox = async (fastify, options) => {
    await settings(fastify, options);
    fastify.get('/added-later', async (request) => ({ user: request.user.sub }));
  };
  return { default: withAddedRoute };
});

describe('the dashboard group’s guard', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename, { RATE_LIMIT_MAX: String(LIMIT) }));
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  it('answers a route added to the group with 401 without a bearer token', async () => {
    const reply = await app.inject({ method: 'GET', url: ADDED });
    expect(reply.statusCode).toBe(401);
    expect(reply.json()).toEqual({ success: false, error: { code: 'UNAUTHORIZED', message: 'a bearer token is required' } });
  });

  it('answers it with 401 with a token signed by someone else', async () => {
    const forged = `${bearer(app, OWNER).authorization.slice(0, -4)}AAAA`;
    expect((await app.inject({ method: 'GET', url: ADDED, headers: { authorization: forged } })).statusCode).toBe(401);
  });

  it('lets a valid token through, and counts the request against the user’s budget', async () => {
    const headers = bearer(app, OWNER);
    for (let i = 0; i < LIMIT; i++) {
      const reply = await app.inject({ method: 'GET', url: ADDED, headers });
      expect(reply.statusCode).toBe(200);
      expect(reply.json()).toEqual({ user: OWNER.sub });
    }
    expect((await app.inject({ method: 'GET', url: ADDED, headers })).statusCode).toBe(429);
  });

  it('documents it with the bearer scheme and the guard’s errors', async () => {
    const operation = app.swagger().paths?.[ADDED]?.get;
    expect(operation?.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(['401', '429', '500', '503']));
  });
});
