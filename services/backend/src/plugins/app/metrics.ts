import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Histogram, Registry, type PrometheusContentType } from 'prom-client';
import { SnapshotRejection } from '@viewer-analytics/shared';

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
  /** The Prometheus text exposition of everything counted so far, and the process metrics. */
  render(): Promise<string>;
  readonly contentType: PrometheusContentType;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: BackendMetrics;
  }
}

/** Seconds; from a cache hit to a 5,000-snapshot batch on a slow database. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Counts requests per route and status, their latency, and the snapshots stored, skipped and
 * rejected, beside Node's process metrics (event-loop lag, GC, heap, CPU). The registry is the
 * app's own, not prom-client's global one: several apps in one process (tests) keep apart.
 */
export default fp(
  async (fastify) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const registers = [registry];

    const requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      registers,
    });
    const latency = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending its reply, by method and route',
      labelNames: ['method', 'route'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const stored = new Counter({ name: 'viewer_snapshots_stored_total', help: 'Viewer snapshots written to the database', registers });
    const skipped = new Counter({
      name: 'viewer_snapshots_skipped_total',
      help: 'Valid viewer snapshots not stored, by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    const invalid = new Counter({
      name: 'viewer_snapshots_invalid_total',
      help: 'Viewer snapshots of a batch refused one by one (the rest stored), by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    const rejected = new Counter({
      name: 'viewer_snapshot_requests_rejected_total',
      help: 'Snapshot ingest requests refused as a whole (nothing stored), by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    // Every series an alert might watch exists from the start, at zero.
    for (const reason of SKIP_REASONS) skipped.inc({ reason }, 0);
    for (const code of Object.values(SnapshotRejection)) invalid.inc({ reason: code.toLowerCase() }, 0);

    fastify.decorate('metrics', {
      snapshotsStored: (count) => {
        stored.inc(count);
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
      render: () => registry.metrics(),
      contentType: registry.contentType,
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
