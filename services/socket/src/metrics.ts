import { Histogram } from 'prom-client';

export type RejectReason = 'malformed_id' | 'malformed_viewer' | 'unknown_auction' | 'at_capacity' | 'lookup_failed';
export type SentOutcome = 'stored' | 'duplicates' | 'disabled' | 'unknown' | 'rejected';

/**
 * The socket server's counters. The hot paths bump plain integers here; the server's Prometheus
 * registry (prometheus-registry.ts) reads them when /metrics is scraped.
 */
export class SocketMetrics {
  joins = 0;
  leaves = 0;
  messagesPublished = 0;
  clientsClosedForMisuse = 0;
  flushFailures = 0;
  /** Snapshots the backend found too far in the future (this clock ahead of its), kept for later. */
  snapshotsDeferred = 0;
  /** Snapshots the sampler made (closed windows × auctions): what the backend should end up with. */
  snapshotsMade = 0;
  outboxFilesCorrupt = 0;
  readonly rejected: Record<RejectReason, number> = { malformed_id: 0, malformed_viewer: 0, unknown_auction: 0, at_capacity: 0, lookup_failed: 0 };
  readonly snapshotsSent: Record<SentOutcome, number> = { stored: 0, duplicates: 0, disabled: 0, unknown: 0, rejected: 0 };
  /** One observation per batch request, not per snapshot: registered by the server's registry only. */
  readonly flushDuration = new Histogram({
    name: 'socket_flush_duration_seconds',
    help: 'Time of one batch request',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [],
  });

  observeFlush(seconds: number): void {
    this.flushDuration.observe(seconds);
  }
}
