import parsePrometheusTextFormat from 'parse-prometheus-text-format';
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

  it('serves valid Prometheus text with the process metrics beside its own', async () => {
    const response = await http(stack.server, '/metrics');
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = new Map(parsePrometheusTextFormat(await response.text()).map((family) => [family.name, family]));
    expect(families.get('socket_connections')?.type).toBe('GAUGE');
    expect(families.get('socket_joins_total')?.type).toBe('COUNTER');
    expect(families.get('socket_rejected_total')?.metrics.map((sample) => sample.labels?.['reason'])).toEqual(
      expect.arrayContaining(['malformed_id', 'unknown_auction', 'at_capacity', 'lookup_failed']),
    );
    expect(families.get('socket_flush_duration_seconds')?.metrics[0]?.buckets).toHaveProperty('+Inf');
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_heap_size_used_bytes', 'process_resident_memory_bytes']) {
      expect(families.has(name), name).toBe(true);
    }
  });

  it('keeps the metrics of two servers in one process apart', async () => {
    const own = await (await http(stack.server, '/metrics')).text();
    const other = await (await http(orphan, '/metrics')).text();
    expect(own).toMatch(/^socket_joins_total [1-9]\d*$/m);
    expect(other).toMatch(/^socket_joins_total 0$/m);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await http(stack.server, '/nope');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
  });
});
