import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, dropAndClose, testConfig } from '../../helper.js';

describe('static assets', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  it.each([
    ['/assets/dashboard-page.js', 'javascript'],
    ['/assets/overview-page.js', 'javascript'],
    ['/assets/styles.css', 'text/css'],
    ['/assets/vendor/uplot/uPlot.esm.js', 'javascript'],
    ['/assets/vendor/uplot/uPlot.min.css', 'text/css'],
  ])('serves %s', async (url, type) => {
    const reply = await app.inject({ url });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toContain(type);
    expect(reply.headers['cache-control']).toBe('public, max-age=300');
  });

  it('serves uPlot as an ES module the pages can import', async () => {
    const reply = await app.inject({ url: '/assets/vendor/uplot/uPlot.esm.js' });
    expect(reply.body).toMatch(/export \{ uPlot as default \};\s*$/);
  });

  it.each(['/assets/vendor/uplot/uPlot.cjs.js', '/assets/vendor/uplot/uPlot.d.ts', '/assets/vendor/uplot/package.json', '/assets/vendor/uplot/../package.json', '/assets/dashboard.html'])(
    'serves nothing else of the package or the templates: %s',
    async (url) => {
      const reply = await app.inject({ url });
      expect([403, 404]).toContain(reply.statusCode);
      expect(reply.headers['content-type']).toContain('application/json');
    },
  );
});
