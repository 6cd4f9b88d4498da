const FLUSH_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type RejectReason = 'malformed_id' | 'unknown_auction' | 'at_capacity' | 'lookup_failed';
export type SentOutcome = 'stored' | 'duplicates' | 'disabled' | 'unknown' | 'rejected';

/** The socket server's counters, rendered as Prometheus text on GET /metrics. */
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
  readonly rejected: Record<RejectReason, number> = { malformed_id: 0, unknown_auction: 0, at_capacity: 0, lookup_failed: 0 };
  readonly snapshotsSent: Record<SentOutcome, number> = { stored: 0, duplicates: 0, disabled: 0, unknown: 0, rejected: 0 };
  private readonly flushBuckets = new Array<number>(FLUSH_BUCKETS_SECONDS.length).fill(0);
  private flushCount = 0;
  private flushSum = 0;

  observeFlush(seconds: number): void {
    this.flushCount++;
    this.flushSum += seconds;
    for (let i = 0; i < FLUSH_BUCKETS_SECONDS.length; i++) {
      if (seconds <= FLUSH_BUCKETS_SECONDS[i]!) this.flushBuckets[i]!++;
    }
  }

  render(gauges: { connections: number; auctions: number; outbox: number; dropped: number; outboxFileBytes: number }): string {
    const lines = [
      gauge('socket_connections', 'Open viewer connections', gauges.connections),
      gauge('socket_auctions_tracked', 'Auctions holding a slot (live or flushing their last window)', gauges.auctions),
      gauge('socket_outbox_snapshots', 'Snapshots waiting for the backend', gauges.outbox),
      counter('socket_snapshots_dropped_total', 'Snapshots dropped because the outbox was full or older than its outage bound', gauges.dropped),
      gauge('socket_outbox_file_bytes', 'Size of the outbox write-ahead file', gauges.outboxFileBytes),
      counter('socket_outbox_files_corrupt_total', 'Damaged outbox files moved aside at start-up', this.outboxFilesCorrupt),
      counter('socket_snapshots_made_total', 'Snapshots made at window closes, one per auction and window', this.snapshotsMade),
      counter('socket_snapshots_deferred_total', 'Snapshots the backend found too far in the future, kept for later', this.snapshotsDeferred),
      counter('socket_joins_total', 'Viewers accepted', this.joins),
      counter('socket_leaves_total', 'Viewers gone', this.leaves),
      counter('socket_messages_published_total', 'viewerCountUpdate messages published to auction topics', this.messagesPublished),
      counter('socket_clients_closed_total', 'Clients closed for sending junk or too much', this.clientsClosedForMisuse),
      counter('socket_flush_failures_total', 'Batch requests that failed and will be retried', this.flushFailures),
      '# HELP socket_rejected_total Connections refused, by reason',
      '# TYPE socket_rejected_total counter',
      ...Object.entries(this.rejected).map(([reason, n]) => `socket_rejected_total{reason="${reason}"} ${n}`),
      '# HELP socket_snapshots_sent_total Snapshots the backend answered for, by outcome',
      '# TYPE socket_snapshots_sent_total counter',
      ...Object.entries(this.snapshotsSent).map(([outcome, n]) => `socket_snapshots_sent_total{outcome="${outcome}"} ${n}`),
      '# HELP socket_flush_duration_seconds Time of one batch request',
      '# TYPE socket_flush_duration_seconds histogram',
      ...FLUSH_BUCKETS_SECONDS.map((le, i) => `socket_flush_duration_seconds_bucket{le="${le}"} ${this.flushBuckets[i] ?? 0}`),
      `socket_flush_duration_seconds_bucket{le="+Inf"} ${this.flushCount}`,
      `socket_flush_duration_seconds_sum ${this.flushSum}`,
      `socket_flush_duration_seconds_count ${this.flushCount}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}

function gauge(name: string, help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${value}`;
}

function counter(name: string, help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${value}`;
}
