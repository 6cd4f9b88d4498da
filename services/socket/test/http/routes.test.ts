import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendProcess, freePort, liveUrl, socketConfig, startInProcess, TestDatabase, Viewer } from '../harness.js';

describe('the socket server over HTTP', () => {
  const database = new TestDatabase(import.meta.filename);
  let backend: BackendProcess;
  let server: Awaited<ReturnType<typeof startInProcess>>;
  let orphan: Awaited<ReturnType<typeof startInProcess>>;
  const http = (s: { port: number }, path: string) => fetch(`http://127.0.0.1:${s.port}${path}`);

  beforeAll(async () => {
    backend = new BackendProcess(await freePort(), database.name);
    await backend.start();
    server = await startInProcess(socketConfig(backend.url));
    orphan = await startInProcess(socketConfig(`http://127.0.0.1:${await freePort()}`));
  });
  afterAll(async () => {
    await Promise.all([server.shutdown(), orphan.shutdown()]);
    await backend.stop();
    await database.close();
  });

  it('answers /health while it runs, with or without a backend', async () => {
    for (const s of [server, orphan]) {
      const response = await http(s, '/health');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    }
  });

  it('is ready only when the backend answers', async () => {
    expect((await http(server, '/ready')).status).toBe(200);
    const notReady = await http(orphan, '/ready');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ success: false, error: { code: 'SERVICE_UNAVAILABLE' } });
  });

  it('exposes Prometheus metrics that follow the viewers', async () => {
    const viewer = new Viewer(liveUrl(server, await database.createAuction()));
    await viewer.sees(1);
    const text = await (await http(server, '/metrics')).text();
    expect(text).toMatch(/^socket_connections 1$/m);
    expect(text).toMatch(/^socket_auctions_tracked 1$/m);
    expect(text).toMatch(/^socket_joins_total \d+$/m);
    expect(text).toMatch(/^# TYPE socket_flush_duration_seconds histogram$/m);
    await viewer.close();
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await http(server, '/nope');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
  });
});
