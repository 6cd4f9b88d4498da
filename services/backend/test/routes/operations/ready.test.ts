import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../fixtures/tcp-proxy.js';
import { buildApp, database, internalKey, testConfig } from '../../helper.js';

describe('GET /ready', () => {
  let app: FastifyInstance;
  let proxy: TcpProxy;

  beforeAll(async () => {
    // The app reaches the database through a relay the test can cut.
    proxy = await startTcpProxy(inject('mongoUri'));
    app = await buildApp(testConfig(import.meta.filename, { MONGODB_URI: proxy.uri }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 200 while MongoDB answers a ping', async () => {
    const reply = await app.inject({ method: 'GET', url: '/ready' });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ status: 'ready' });
  });

  it('answers 503 with the error body, within seconds, once MongoDB is unreachable', async () => {
    await database(app).dropDatabase();
    await proxy.cut();
    const started = Date.now();
    const reply = await app.inject({ method: 'GET', url: '/ready' });
    expect(reply.statusCode).toBe(503);
    expect(reply.json()).toEqual({ success: false, error: { code: 'DATABASE_UNAVAILABLE', message: 'The database does not answer' } });
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});

describe('a request that needs the database while it is away', () => {
  it('is answered 503 DATABASE_UNAVAILABLE, so that the socket server retries it', async () => {
    const app = await buildApp(testConfig(import.meta.filename));
    try {
      await database(app).dropDatabase();
      await app.mongo.client.close();
      const reply = await app.inject({ method: 'GET', url: '/api/v1/internal/auctions/665f1c2a9b1e8a0012345678', headers: internalKey });
      expect(reply.statusCode).toBe(503);
      expect(reply.json()).toMatchObject({ success: false, error: { code: 'DATABASE_UNAVAILABLE' } });
    } finally {
      await app.close();
    }
  });
});
