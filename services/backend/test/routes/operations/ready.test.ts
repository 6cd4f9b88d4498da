import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ObjectId } from 'mongodb';
import { startTcpProxy, type TcpProxy } from '../../fixtures/tcp-proxy.js';
import { MARKS_COLLECTION } from '../../../src/plugins/app/viewer-hours.js';
import { RETRY_FIRST_MS } from '../../../src/retry-delay.js';
import { buildApp, database, dropAndClose, internalKey, logCollector, testConfig } from '../../helper.js';

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
    await vi.waitFor(() => {
      expect(app.auctions.warmedUp()).toBe(true);
      expect(app.viewerHours.warmedUp()).toBe(true);
    });
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

describe('GET /ready at start', () => {
  it('answers 503 while the process loads the hour marks and figures, then 200', async () => {
    const config = testConfig(`${import.meta.filename}-warm-up`);
    const seeding = await buildApp(config);
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    // Enough marks that reading them all takes FerretDB a while.
    const marks = Array.from({ length: 20_000 }, (_, i) => ({ _id: `warm-up-${String(i)}`, auction: new ObjectId(), hour: new Date(hour - (i % 48) * 3_600_000), at: new Date() }));
    for (let i = 0; i < marks.length; i += 5_000) await database(seeding).collection<(typeof marks)[number]>(MARKS_COLLECTION).insertMany(marks.slice(i, i + 5_000));
    await seeding.close();

    const app = await buildApp(config);
    try {
      // No auction: the settings load at once, the marks take a while.
      await vi.waitFor(() => {
        expect(app.auctions.warmedUp()).toBe(true);
      });
      const loading = await app.inject({ method: 'GET', url: '/ready' });
      expect(loading.statusCode).toBe(503);
      expect(loading.json()).toEqual({ success: false, error: { code: 'DATABASE_UNAVAILABLE', message: 'Loading the hour marks and figures from the database' } });
      await vi.waitFor(
        async () => {
          expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
        },
        { timeout: 30_000, interval: 100 },
      );
    } finally {
      await dropAndClose(app);
    }
  });

  it('takes a load the database cut short again once it is back, and stays out of the load balancer until then', async () => {
    // The settings load's first read (of the change log) gets no answer; the database goes away under it.
    const proxy = await startTcpProxy(inject('mongoUri'), { stall: { command: 'find', collection: 'settingschanges' } });
    const logs = logCollector();
    const app = await buildApp(testConfig(`${import.meta.filename}-cut-load`, { MONGODB_URI: proxy.uri, LOG_LEVEL: 'info' }), { logs });
    try {
      await proxy.stalled;
      expect(app.auctions.warmedUp()).toBe(false);
      await proxy.cut();
      const withMessage = (msg: string): Record<string, unknown>[] => logs.lines.filter((line) => line['msg'] === msg);
      await vi.waitFor(
        () => {
          expect(withMessage('loading the analytics settings failed: the ingest reads the settings it needs until it is loaded')).toEqual([
            expect.objectContaining({ level: 40, retryInMs: RETRY_FIRST_MS }),
          ]);
        },
        { timeout: 15_000, interval: 50 },
      );
      // The first attempt ended, but nothing is loaded: not ready.
      const cutShort = await app.inject({ method: 'GET', url: '/ready' });
      expect(cutShort.statusCode).toBe(503);
      expect(cutShort.json()).toEqual({ success: false, error: { code: 'DATABASE_UNAVAILABLE', message: 'Loading the analytics settings from the database' } });
      // An expected state, not an outage: no warning per probe (the load logs its own lines).
      expect(withMessage('database unavailable')).toEqual([]);

      await proxy.restore();
      await vi.waitFor(
        async () => {
          expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
        },
        { timeout: 60_000, interval: 200 },
      );
      expect(withMessage('analytics settings loaded')).toEqual([expect.objectContaining({ level: 30, auctions: 0, failedAttempts: expect.any(Number) as number })]);
    } finally {
      // Reachable again if the test failed before it was.
      await proxy.restore().catch(() => undefined);
      await dropAndClose(app);
      await proxy.cut();
    }
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
