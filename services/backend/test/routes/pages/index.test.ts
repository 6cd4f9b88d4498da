import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, dropAndClose, testConfig } from '../../helper.js';

describe('pages', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename, { PUBLIC_SOCKET_URL: 'wss://live.example.com:9443/' }));
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  it.each([
    ['/dashboard', '/assets/overview-page.js'],
    ['/dashboard/auctions/665f1c2a9b1e8a0012345678', '/assets/dashboard-page.js'],
    ['/live/665f1c2a9b1e8a0012345678', '/assets/live-page.js'],
  ])('%s is an HTML page loading %s, with no guard (its script asks the APIs, which check the token)', async (url, script) => {
    const reply = await app.inject({ url });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.body).toContain(`<script type="module" src="${script}"></script>`);
    expect(reply.body).not.toContain('{{');
  });

  it('names the socket server in the pages that reach it', async () => {
    for (const url of ['/dashboard', '/live/665f1c2a9b1e8a0012345678']) {
      const reply = await app.inject({ url });
      expect(reply.body).toContain('<meta name="socket-url" content="wss://live.example.com:9443/" />');
    }
  });

  it('loads uPlot from the vendor path on the auction dashboard', async () => {
    const reply = await app.inject({ url: '/dashboard/auctions/665f1c2a9b1e8a0012345678' });
    expect(reply.body).toContain('<link rel="stylesheet" href="/assets/vendor/uplot/uPlot.min.css" />');
  });
});
