import type { FastifyInstance } from 'fastify';
import { ObjectId } from 'mongodb';
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createAuction, dropAndClose, internalKey, snapshot, testConfig, windowStart } from '../../helper.js';

/** The value of every counter and gauge series as `name{label="value",…}` → number; labels in the order given. */
function seriesValues(families: readonly MetricFamily[]): Map<string, number> {
  const series = new Map<string, number>();
  for (const family of families) {
    if (family.type === 'HISTOGRAM' || family.type === 'SUMMARY') continue;
    for (const { labels, value } of family.metrics) {
      const text = Object.entries(labels ?? {}).map(([name, labelValue]) => `${name}="${labelValue}"`).join(',');
      series.set(text === '' ? family.name : `${family.name}{${text}}`, Number(value));
    }
  }
  return series;
}

describe('GET /metrics', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  const scrape = async () => {
    const reply = await app.inject({ method: 'GET', url: '/metrics' });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    // Throws on any line that is not valid exposition text.
    const families = parsePrometheusTextFormat(reply.body);
    return { text: reply.body, families, series: seriesValues(families) };
  };

  it('is valid Prometheus text: every family with HELP and TYPE', async () => {
    const { families } = await scrape();
    expect(families.length).toBeGreaterThan(0);
    for (const family of families) {
      expect(family.help, family.name).not.toBe('');
      expect(family.type, family.name).not.toBe('UNTYPED');
    }
  });

  it('includes the default process metrics: event-loop lag, GC, heap, CPU', async () => {
    const { families } = await scrape();
    const types = new Map(families.map((family) => [family.name, family.type]));
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('GAUGE');
    expect(types.get('nodejs_heap_size_used_bytes')).toBe('GAUGE');
    expect(types.get('nodejs_gc_duration_seconds')).toBe('HISTOGRAM');
    expect(types.get('process_cpu_user_seconds_total')).toBe('COUNTER');
  });

  it('starts with every snapshot series at zero', async () => {
    const { families, series } = await scrape();
    expect(series.get('viewer_snapshots_stored_total')).toBe(0);
    for (const reason of ['duplicate', 'analytics_disabled', 'unknown_auction']) {
      expect(series.get(`viewer_snapshots_skipped_total{reason="${reason}"}`)).toBe(0);
    }
    for (const reason of ['snapshot_in_future', 'invalid_snapshot']) expect(series.get(`viewer_snapshots_invalid_total{reason="${reason}"}`)).toBe(0);
    const types = new Map(families.map((family) => [family.name, family.type]));
    expect(types.get('http_requests_total')).toBe('COUNTER');
    expect(types.get('http_request_duration_seconds')).toBe('HISTOGRAM');
    for (const name of ['viewer_snapshots_stored_total', 'viewer_snapshots_skipped_total', 'viewer_snapshots_invalid_total', 'viewer_snapshot_requests_rejected_total']) {
      expect(types.get(name), name).toBe('COUNTER');
    }
  });

  it('counts snapshots stored, skipped by reason and rejected by reason, and requests by route and status', async () => {
    const enabled = await createAuction(app);
    const disabled = await createAuction(app, { enableViewerAnalytics: false });
    const single = (id: string, body: object, headers: Record<string, string> = internalKey) =>
      app.inject({ method: 'POST', url: `/api/v1/auctions/${id}/analytics/snapshot`, headers, payload: body });

    await single(enabled, snapshot()); // stored
    await single(enabled, snapshot()); // duplicate
    await single(disabled, snapshot()); // analytics_disabled
    await single(new ObjectId().toHexString(), snapshot()); // unknown_auction
    await single(enabled, snapshot({ sampleCount: 13 })); // rejected: validation
    await single(enabled, snapshot(), {}); // rejected: unauthorized
    await app.inject({ method: 'POST', url: '/api/v1/analytics/snapshots', headers: internalKey, payload: {
      snapshots: [
        { auctionId: enabled, ...snapshot({ timestamp: windowStart(1) }) }, // stored
        { auctionId: enabled, ...snapshot() }, // duplicate
        { auctionId: disabled, ...snapshot() }, // analytics_disabled
        { auctionId: enabled, ...snapshot({ timestamp: windowStart(-60) }) }, // invalid: snapshot_in_future
        { auctionId: enabled, ...snapshot({ sampleCount: 0 }) }, // invalid: invalid_snapshot
        { auctionId: 'not an id' }, // invalid: invalid_snapshot
      ],
    } });
    await app.inject({ method: 'POST', url: '/api/v1/analytics/snapshots', headers: { ...internalKey, 'content-type': 'application/json' }, payload: '{' });

    const { text, series } = await scrape();
    expect(series.get('viewer_snapshots_stored_total')).toBe(2);
    expect(series.get('viewer_snapshots_skipped_total{reason="duplicate"}')).toBe(2);
    expect(series.get('viewer_snapshots_skipped_total{reason="analytics_disabled"}')).toBe(2);
    expect(series.get('viewer_snapshots_skipped_total{reason="unknown_auction"}')).toBe(1);
    expect(series.get('viewer_snapshots_invalid_total{reason="snapshot_in_future"}')).toBe(1);
    expect(series.get('viewer_snapshots_invalid_total{reason="invalid_snapshot"}')).toBe(2);
    expect(series.get('viewer_snapshot_requests_rejected_total{reason="validation_error"}')).toBe(1);
    expect(series.get('viewer_snapshot_requests_rejected_total{reason="unauthorized"}')).toBe(1);
    expect(series.get('viewer_snapshot_requests_rejected_total{reason="invalid_json"}')).toBe(1);

    const route = 'route="/api/v1/auctions/:id/analytics/snapshot"';
    expect(series.get(`http_requests_total{method="POST",${route},status_code="201"}`)).toBe(1);
    expect(series.get(`http_requests_total{method="POST",${route},status_code="200"}`)).toBe(2);
    expect(series.get(`http_requests_total{method="POST",${route},status_code="404"}`)).toBe(1);
    expect(series.get(`http_requests_total{method="POST",${route},status_code="400"}`)).toBe(1);
    expect(series.get(`http_requests_total{method="POST",${route},status_code="401"}`)).toBe(1);
    // The parser folds a labelled histogram's series into one: its lines are read as they are.
    expect(text).toContain(`\nhttp_request_duration_seconds_count{method="POST",${route}} 6\n`);
    expect(text).toContain(`\nhttp_request_duration_seconds_bucket{le="+Inf",method="POST",${route}} 6\n`);
  });

  it('labels unmatched URLs as one route, so that scanners cannot create series', async () => {
    await app.inject({ method: 'GET', url: '/wp-admin/1' });
    await app.inject({ method: 'GET', url: '/wp-admin/2' });
    const { series } = await scrape();
    expect(series.get('http_requests_total{method="GET",route="unmatched",status_code="404"}')).toBe(2);
    expect([...series.keys()].some((key) => key.includes('wp-admin'))).toBe(false);
  });
});
