import fp from 'fastify-plugin';
import { SnapshotRejection } from '@viewer-analytics/shared';
import { Counter, Histogram, renderMetrics } from '../../metrics/prometheus.js';

export const SKIP_REASONS = ['duplicate', 'analytics_disabled', 'unknown_auction'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** What the backend counts beyond HTTP traffic: the fate of every viewer snapshot it receives. */
export interface BackendMetrics {
  snapshotsStored(count: number): void;
  snapshotsSkipped(reason: SkipReason, count: number): void;
  /** Items of a batch refused one by one (the rest of the batch stored), by rejection code. */
  snapshotsInvalid(code: SnapshotRejection, count: number): void;
  /** An ingest request refused as a whole (nothing stored); `reason` is the error code in lower case. */
  snapshotRequestRejected(reason: string): void;
  /** The Prometheus text exposition of everything counted so far. */
  render(): string;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: BackendMetrics;
  }
}

/** Seconds; from a cache hit to a 5,000-snapshot batch on a slow database. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Counts requests per route and status, their latency, and the snapshots stored, skipped and rejected. */
export default fp(
  async (fastify) => {
    const requests = new Counter('http_requests_total', 'HTTP requests answered, by method, route and status', [
      'method',
      'route',
      'status_code',
    ]);
    const latency = new Histogram(
      'http_request_duration_seconds',
      'Time from receiving a request to sending its reply, by method and route',
      ['method', 'route'],
      LATENCY_BUCKETS,
    );
    const stored = new Counter('viewer_snapshots_stored_total', 'Viewer snapshots written to the database');
    const skipped = new Counter('viewer_snapshots_skipped_total', 'Valid viewer snapshots not stored, by reason', ['reason']);
    const invalid = new Counter(
      'viewer_snapshots_invalid_total',
      'Viewer snapshots of a batch refused one by one (the rest stored), by reason',
      ['reason'],
    );
    const rejected = new Counter(
      'viewer_snapshot_requests_rejected_total',
      'Snapshot ingest requests refused as a whole (nothing stored), by reason',
      ['reason'],
    );
    // Every series an alert might watch exists from the start, at zero.
    stored.inc({}, 0);
    for (const reason of SKIP_REASONS) skipped.inc({ reason }, 0);
    for (const code of Object.values(SnapshotRejection)) invalid.inc({ reason: code.toLowerCase() }, 0);

    fastify.decorate('metrics', {
      snapshotsStored: (count) => {
        stored.inc({}, count);
      },
      snapshotsSkipped: (reason, count) => {
        skipped.inc({ reason }, count);
      },
      snapshotsInvalid: (code, count) => {
        invalid.inc({ reason: code.toLowerCase() }, count);
      },
      snapshotRequestRejected: (reason) => {
        rejected.inc({ reason });
      },
      render: () => renderMetrics([requests, latency, stored, skipped, invalid, rejected]),
    } satisfies BackendMetrics);

    fastify.addHook('onResponse', async (request, reply) => {
      // The route pattern, never the raw URL: unmatched URLs must not create a series each.
      const route = request.routeOptions.url ?? 'unmatched';
      requests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
      latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });
  },
  { name: 'metrics' },
);
