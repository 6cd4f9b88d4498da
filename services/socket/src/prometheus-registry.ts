import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { SocketMetrics } from './metrics.js';

/** prom-client's default metric of the open file descriptors. */
const OPEN_FDS = 'process_open_fds';

/** What the server's parts hold at scrape time. */
export interface SocketGauges {
  readonly connections: number;
  readonly waiting: number;
  readonly auctions: number;
  readonly outbox: number;
  readonly dropped: number;
  readonly outboxFileBytes: number;
}

/** What the cluster's parts hold at scrape time. */
export interface ClusterGauges {
  readonly counts: {
    readonly peersAlive: number;
    readonly degraded: boolean;
    readonly stats: { readonly messagesPublished: number; readonly messagesReceived: number; readonly roundTripMs: number };
  };
  readonly delivery: { readonly isLeader: boolean; readonly windowsMarked: number; readonly recordsTrimmed: number };
  readonly lease: { readonly gains: number };
  /** The visitor keys shared for the cluster's unique viewers. */
  readonly visitors?: {
    readonly stats: { readonly entriesPublished: number; readonly entriesReceived: number; readonly entriesLate: number; readonly entriesLost: number };
  };
}

/**
 * A registry of the server's own (several servers may share a process, tests do): the process's
 * default metrics (event-loop lag, GC, heap) and the server's, each read from the plain integers
 * the hot paths bump, only when /metrics is scraped.
 */
export function createPrometheusRegistry(metrics: SocketMetrics, gauges: () => SocketGauges, cluster?: ClusterGauges): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // It lists /proc/self/fd synchronously at every scrape: ~14 ms with 10,000 viewers' sockets, on
  // the loop that serves them. socket_connections counts what it would mostly count.
  registry.removeSingleMetric(OPEN_FDS);
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers: [registry], collect() { mirror(this, read()); } });
  };
  const countersBy = (name: string, help: string, label: string, values: Readonly<Record<string, number>>): void => {
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(values)) this.inc({ [label]: key }, value);
      },
    });
  };

  gauge('socket_connections', 'Open viewer connections', () => gauges().connections);
  gauge('socket_viewers_waiting_for_lookup', 'Connections open and waiting for their auction\'s lookup, not counted yet (at most MAX_WAITING_VIEWERS)', () => gauges().waiting);
  gauge('socket_auctions_tracked', 'Auctions holding a slot (live or flushing their last window)', () => gauges().auctions);
  gauge('socket_outbox_snapshots', 'Snapshots waiting for the backend', () => gauges().outbox);
  counter('socket_snapshots_dropped_total', 'Snapshots dropped because the outbox was full or older than its outage bound', () => gauges().dropped);
  gauge('socket_outbox_file_bytes', 'Size of the outbox write-ahead file', () => gauges().outboxFileBytes);
  counter('socket_outbox_files_corrupt_total', 'Damaged outbox files moved aside at start-up', () => metrics.outboxFilesCorrupt);
  counter('socket_snapshots_made_total', 'Snapshots made at window closes, one per auction and window', () => metrics.snapshotsMade);
  counter('socket_snapshots_deferred_total', 'Snapshots the backend found too far in the future, kept for later', () => metrics.snapshotsDeferred);
  counter('socket_joins_total', 'Viewers accepted', () => metrics.joins);
  counter('socket_leaves_total', 'Viewers gone', () => metrics.leaves);
  counter('socket_messages_published_total', 'viewerCountUpdate messages published to auction topics', () => metrics.messagesPublished);
  counter('socket_clients_closed_total', 'Clients closed for sending junk or too much', () => metrics.clientsClosedForMisuse);
  counter('socket_flush_failures_total', 'Batch requests that failed and will be retried', () => metrics.flushFailures);
  countersBy('socket_rejected_total', 'Connections refused, by reason', 'reason', metrics.rejected);
  countersBy('socket_snapshots_sent_total', 'Snapshots the backend answered for, by outcome', 'outcome', metrics.snapshotsSent);
  registry.registerMetric(metrics.flushDuration);
  // Only with REDIS_URL: a single process's /metrics stays as it was.
  if (cluster !== undefined) {
    const { counts, delivery, lease } = cluster;
    gauge('socket_cluster_peers_alive', 'Other socket processes heard through Redis and not dropped', () => counts.peersAlive);
    gauge('socket_cluster_redis_round_trip_ms', 'Duration of the last count write to Redis (MULTI … PUBLISH … EXEC)', () => counts.stats.roundTripMs);
    counter('socket_cluster_messages_published_total', 'Count messages this process published', () => counts.stats.messagesPublished);
    counter('socket_cluster_messages_received_total', "Other processes' count messages received", () => counts.stats.messagesReceived);
    gauge('socket_cluster_degraded', '1 while this process cannot both write and hear through Redis', () => (counts.degraded ? 1 : 0));
    gauge('socket_cluster_leader', '1 while this process holds the lease and delivers the snapshots', () => (delivery.isLeader ? 1 : 0));
    counter('socket_cluster_leader_gains_total', 'Times this process became the leader (failovers and first elections)', () => lease.gains);
    counter('socket_cluster_windows_marked_total', 'Windows this process, as leader, marked delivered in Redis', () => delivery.windowsMarked);
    counter('socket_cluster_copies_trimmed_total', 'Snapshot copies dropped because the leader delivered their window', () => delivery.recordsTrimmed);
    const { visitors } = cluster;
    if (visitors !== undefined) {
      const { stats } = visitors;
      counter('socket_cluster_visitor_entries_published_total', 'Visitor keys this process shared with the others', () => stats.entriesPublished);
      counter('socket_cluster_visitor_entries_received_total', "Other processes' visitor keys received", () => stats.entriesReceived);
      counter('socket_cluster_visitor_entries_late_total', 'Visitor keys received after their window had closed here: not counted', () => stats.entriesLate);
      counter('socket_cluster_visitor_entries_lost_total', 'Visitor keys not shared (Redis unavailable) or not kept (too many ahead): not counted by the others', () => stats.entriesLost);
    }
  }
  return registry;
}

/** A counter kept elsewhere: prom-client counters only go up by increments, so start again from zero. */
function mirror(counter: Counter, value: number): void {
  counter.reset();
  counter.inc(value);
}
