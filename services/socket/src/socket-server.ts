import type { Logger } from 'pino';
import { CloseCode, liveFeedPath } from '@viewer-analytics/shared';
import { AuctionSlots } from './auctions/auction-slots.js';
import { LocalViewerCounts } from './auctions/viewer-counts.js';
import { Broadcaster } from './broadcast/broadcaster.js';
import { CountMessageEncoder } from './broadcast/count-message.js';
import type { SocketConfig } from './config.js';
import { BackendClient } from './backend/backend-client.js';
import { Flusher } from './delivery/flusher.js';
import { OutboxJournal } from './delivery/outbox-journal.js';
import { OUTBOX_RECORD_BYTES, SnapshotOutbox } from './delivery/snapshot-outbox.js';
import { registerHttpRoutes } from './http/routes.js';
import { SocketMetrics } from './metrics.js';
import { createPrometheusRegistry } from './prometheus-registry.js';
import { Sampler } from './sampling/sampler.js';
import uWS, { type TemplatedApp, type us_listen_socket } from './uws.js';
import { AuctionDirectory } from './viewers/auction-directory.js';
import { LiveFeed } from './viewers/live-feed.js';

export interface SocketServer {
  readonly port: number;
  readonly metrics: SocketMetrics;
  /**
   * Stops accepting, closes viewers (1001), writes the partial window to the outbox file, then
   * gives delivery until SHUTDOWN_FLUSH_TIMEOUT_MS. Whatever is left waits in the file.
   */
  shutdown(): Promise<void>;
  /** Cuts the delivery short (a second signal): requests in flight are aborted. The save is never cut. */
  hurry(): void;
}

export async function startSocketServer(config: SocketConfig, log: Logger): Promise<SocketServer> {
  const metrics = new SocketMetrics();
  const slots = new AuctionSlots(config.MAX_AUCTIONS);
  const counts = new LocalViewerCounts(config.MAX_AUCTIONS);
  const outbox = new SnapshotOutbox({
    maxRecords: Math.floor((config.OUTBOX_MAX_MB * 1024 * 1024) / OUTBOX_RECORD_BYTES),
    maxAgeMs: config.OUTBOX_MAX_AGE_HOURS * 3_600_000,
  });
  const { journal, restored, lastClosedWindow } = await OutboxJournal.open(config.OUTBOX_FILE, outbox, {
    corrupt: (details) => {
      metrics.outboxFilesCorrupt++;
      log.error(details, 'the outbox file was damaged: moved aside, its valid snapshots kept');
    },
  });
  if (restored > 0) log.info({ snapshots: restored, file: config.OUTBOX_FILE }, 'reloaded undelivered snapshots');
  const persist = (closedWindow?: number): void => {
    journal.sync(closedWindow).catch((err: unknown) => {
      log.error({ err, file: config.OUTBOX_FILE }, 'could not write the outbox file; the next write tries again');
    });
  };
  const client = new BackendClient(config.BACKEND_API_URL, config.INTERNAL_API_KEY);
  const flusher = new Flusher({
    outbox,
    client,
    concurrency: config.FLUSH_CONCURRENCY,
    retryBaseMs: config.RETRY_BASE_MS,
    retryMaxMs: config.RETRY_MAX_MS,
    log,
    metrics,
    onSettled: () => {
      persist();
    },
  });
  const sampler = new Sampler({
    slots,
    counts,
    outbox,
    intervalMs: config.SAMPLE_INTERVAL_MS,
    samplesPerWindow: config.SAMPLES_PER_SNAPSHOT,
    isIdle: (slot) => counts.countAt(slot) === 0,
    onWindowClosed: (windowStart, snapshots) => {
      metrics.snapshotsMade += snapshots;
      if (snapshots > 0) log.debug({ window: new Date(windowStart).toISOString(), snapshots }, 'window closed');
      persist(windowStart);
      flusher.kick();
    },
  });

  // A window the previous process closed at shutdown is stored (or waiting) already: a second
  // snapshot of it would be refused as a duplicate, so sampling resumes after it.
  if (lastClosedWindow >= 0) sampler.skipWindowsThrough(lastClosedWindow);

  const app = uWS.App();
  const encoder = new CountMessageEncoder();
  const broadcaster = new Broadcaster(app, slots, counts, encoder, metrics);
  const liveFeed = new LiveFeed({
    slots,
    counts,
    directory: new AuctionDirectory({
      client,
      ttlMs: config.LOOKUP_TTL_MS,
      negativeTtlMs: config.LOOKUP_NEGATIVE_TTL_MS,
      maxEntries: config.LOOKUP_CACHE_ENTRIES,
      maxPendingLookups: config.MAX_PENDING_LOOKUPS,
    }),
    encoder,
    broadcaster,
    metrics,
    log,
    maxConnections: config.MAX_CONNECTIONS,
  });
  app.ws(liveFeedPath(':id'), liveFeed.behavior());
  registerHttpRoutes(app, {
    metrics: createPrometheusRegistry(metrics, () => ({
      connections: counts.connections,
      auctions: slots.size,
      outbox: outbox.size,
      dropped: outbox.dropped,
      outboxFileBytes: journal.bytes,
    })),
    ready: () => client.reachable(),
  });

  const listenSocket = await listen(app, config.SOCKET_HOST, config.SOCKET_PORT).catch(async (error: unknown) => {
    // The file keeps every snapshot: the next start sends them.
    await journal.close();
    await client.close();
    throw error;
  });
  sampler.start();
  broadcaster.start(config.BROADCAST_INTERVAL_MS);
  flusher.kick();

  let shuttingDown: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    uWS.us_listen_socket_close(listenSocket);
    liveFeed.closeAll(CloseCode.goingAway, 'server shutting down');
    broadcaster.stop();
    sampler.stop();
    // The save comes first: nothing after it (a deadline, a second signal) can lose the window.
    await journal.sync(sampler.closeWindow());
    flusher.kick();
    const delivered = await flusher.drain(config.SHUTDOWN_FLUSH_TIMEOUT_MS);
    flusher.stop();
    await journal.close();
    await client.close();
    if (delivered) log.info('every snapshot delivered');
    else log.warn({ snapshots: outbox.size, file: config.OUTBOX_FILE }, 'undelivered snapshots saved for the next start');
  };

  return {
    port: uWS.us_socket_local_port(listenSocket),
    metrics,
    shutdown: () => (shuttingDown ??= shutdown()),
    hurry: () => {
      flusher.stop();
    },
  };
}

function listen(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (socket === false) reject(new Error(`could not listen on ${host}:${port}`));
      else resolve(socket);
    });
  });
}
