import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, liveUrl, socketConfig, startInProcess, useSocketStack, Viewer, type InProcessServer } from '../harness.js';

describe('the socket server over HTTP', () => {
  const stack = useSocketStack(import.meta.filename);
  /** A socket server whose backend never answers. */
  let orphan: InProcessServer;
  const http = (s: { port: number }, path: string) => fetch(`http://127.0.0.1:${String(s.port)}${path}`);

  beforeAll(async () => {
    orphan = await startInProcess(socketConfig(`http://127.0.0.1:${String(await freePort())}`));
  });
  afterAll(() => orphan.shutdown());

  it('answers /health while it runs, with or without a backend', async () => {
    for (const s of [stack.server, orphan]) {
      const response = await http(s, '/health');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    }
  });

  it('is ready only when the backend answers', async () => {
    expect((await http(stack.server, '/ready')).status).toBe(200);
    const notReady = await http(orphan, '/ready');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ success: false, error: { code: 'SERVICE_UNAVAILABLE' } });
  });

  it('exposes Prometheus metrics that follow the viewers', async () => {
    const viewer = new Viewer(liveUrl(stack.server, await stack.database.createAuction()));
    await viewer.sees(1);
    const text = await (await http(stack.server, '/metrics')).text();
    expect(text).toMatch(/^socket_connections 1$/m);
    expect(text).toMatch(/^socket_auctions_tracked 1$/m);
    expect(text).toMatch(/^socket_joins_total \d+$/m);
    expect(text).toMatch(/^# TYPE socket_flush_duration_seconds histogram$/m);
    await viewer.close();
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await http(stack.server, '/nope');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
  });
});
