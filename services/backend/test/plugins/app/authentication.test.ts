import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, buildApp, createAuction, dropAndClose, OWNER, TEST_JWT_SECRET, testConfig } from '../../helper.js';

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token @fastify/jwt would never sign with our configuration: another algorithm, none, or odd times. */
function forge(header: object, payload: object, secret = TEST_JWT_SECRET): string {
  const unsigned = `${base64url(header)}.${base64url(payload)}`;
  const alg = 'alg' in header ? header.alg : undefined;
  const hash = alg === 'HS512' ? 'sha512' : alg === 'HS256' ? 'sha256' : undefined;
  const signature = hash === undefined ? '' : createHmac(hash, secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

const HS256 = { alg: 'HS256', typ: 'JWT' };
const nowSeconds = () => Math.floor(Date.now() / 1000);
const HOUR = 3600;

describe('bearer JWT authentication', () => {
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
    url = `/api/v1/auctions/${await createAuction(app)}`;
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const get = (authorization?: string) =>
    app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });

  it('lets a token signed with JWT_SECRET (HS256) through, with its claims', async () => {
    const reply = await get(bearer(app, OWNER).authorization);
    expect(reply.statusCode).toBe(200);
  });

  it.each<[string, () => object]>([
    ['valid for exactly 24 hours, without iat', () => ({ ...OWNER, exp: nowSeconds() + 24 * HOUR })],
    ['issued 20 s ahead of our clock (within the 30 s tolerance)', () => ({ ...OWNER, iat: nowSeconds() + 20, exp: nowSeconds() + HOUR })],
    ['minted like the start command’s development token (12 h)', () => ({ ...OWNER, iat: nowSeconds(), exp: nowSeconds() + 12 * HOUR })],
  ])('accepts a token %s', async (_name, payload) => {
    expect((await get(`Bearer ${forge(HS256, payload())}`)).statusCode).toBe(200);
  });

  it.each<[string, (app: FastifyInstance) => string | undefined, string]>([
    ['no Authorization header', () => undefined, 'a bearer token is required'],
    ['another scheme', () => 'Basic b3duZXI6cGFzc3dvcmQ=', 'a bearer token is required'],
    ['a token that is no JWT', () => 'Bearer not.a.jwt', 'the bearer token is invalid'],
    ['a token signed with another secret', (a) => `Bearer ${a.jwt.sign(OWNER, { key: 'another-secret-0123456789abcdef' })}`, 'the bearer token is invalid'],
    ['an expired token', (a) => `Bearer ${a.jwt.sign(OWNER, { clockTimestamp: Date.now() - 120_000, expiresIn: '1m' })}`, 'the bearer token has expired'],
    ['a token of another algorithm (HS512)', () => `Bearer ${forge({ alg: 'HS512', typ: 'JWT' }, OWNER)}`, 'the bearer token is invalid'],
    ['an unsigned token (alg none)', () => `Bearer ${forge({ alg: 'none', typ: 'JWT' }, { sub: 'x', role: 'admin' })}`, 'the bearer token is invalid'],
    ['a token without a role', (a) => `Bearer ${a.jwt.sign({ sub: OWNER.sub } as typeof OWNER)}`, 'the bearer token lacks the sub and role claims'],
    ['a token with a numeric sub', (a) => `Bearer ${a.jwt.sign({ sub: 5, role: 'admin' } as unknown as typeof OWNER)}`, 'the bearer token lacks the sub and role claims'],
    ['a token without exp (valid forever)', () => `Bearer ${forge(HS256, { ...OWNER, iat: nowSeconds() })}`, 'the bearer token has no expiry (exp)'],
    ['a token valid for more than 24 hours', () => `Bearer ${forge(HS256, { ...OWNER, iat: nowSeconds(), exp: nowSeconds() + 24 * HOUR + 120 })}`, 'the bearer token is valid for more than 24 hours'],
    ['a token issued in the future', () => `Bearer ${forge(HS256, { ...OWNER, iat: nowSeconds() + 120, exp: nowSeconds() + HOUR })}`, 'the bearer token was issued in the future'],
  ])('answers %s with 401', async (_name, authorization, message) => {
    const reply = await get(authorization(app));
    expect(reply.statusCode).toBe(401);
    expect(reply.json()).toEqual({ success: false, error: { code: 'UNAUTHORIZED', message } });
  });
});
