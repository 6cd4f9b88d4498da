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
      expect.arrayContaining(['malformed_id', 'malformed_viewer', 'unknown_auction', 'at_capacity', 'lookup_failed']),
    );
    expect(families.get('socket_flush_duration_seconds')?.metrics[0]?.buckets).toHaveProperty('+Inf');
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_heap_size_used_bytes', 'process_resident_memory_bytes']) {
      expect(families.has(name), name).toBe(true);
    }
    // Its scrape reads every socket's /proc entry synchronously, on the viewers' loop.
    expect(families.has('process_open_fds')).toBe(false);
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

  // Last: the auctions watched here stay tracked for a window, which the metrics tests above would count.
  it('answers /counts with the live viewers of each auction asked for, to any origin', async () => {
    const [watched, quiet] = [await stack.database.createAuction(), await stack.database.createAuction()];
    const viewers = [new Viewer(liveUrl(stack.server, watched))];
    await viewers[0]!.sees(1);
    viewers.push(new Viewer(liveUrl(stack.server, watched)));
    await Promise.all(viewers.map((viewer) => viewer.sees(2, 5_000)));
    const never = '665f1c2a9b1e8a0012345678';
    const response = await http(stack.server, `/counts?auctions=${watched.toUpperCase()},${quiet},${never}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ counts: { [watched]: 2, [quiet]: 0, [never]: 0 } });
    await viewers[0]!.close();
    await viewers[1]!.sees(1);
    expect(await (await http(stack.server, `/counts?auctions=${watched}`)).json()).toEqual({ counts: { [watched]: 1 } });
    await viewers[1]!.close();
  });

  it('takes up to 500 auctions in one /counts request', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(24, '0'));
    const response = await http(stack.server, `/counts?auctions=${ids.join(',')}`);
    expect(response.status).toBe(200);
    expect(Object.keys((await response.json() as { counts: object }).counts)).toHaveLength(500);
  });

  it.each([
    ['no list', '/counts', /give 1 to 500/],
    ['an empty list', '/counts?auctions=', /give 1 to 500/],
    ['a malformed id', '/counts?auctions=665f1c2a9b1e8a0012345678,nope', /"nope" is not an auction id/],
    ['an empty entry', '/counts?auctions=665f1c2a9b1e8a0012345678,', /"" is not an auction id/],
    ['501 ids', `/counts?auctions=${Array.from({ length: 501 }, (_, i) => i.toString(16).padStart(24, '0')).join(',')}`, /at most 500 ids, got 501/],
  ])('refuses /counts with %s: 400 JSON', async (_name, path, message) => {
    const response = await http(stack.server, path);
    expect(response.status).toBe(400);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await response.json()) as { success: boolean; error: { code: string; message: string } };
    expect(body).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
    expect(body.error.message).toMatch(message);
  });
});
