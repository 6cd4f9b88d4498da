import type { Logger } from 'pino';
import { CloseCode, liveFeedPath } from '@viewer-analytics/shared';
import { AuctionSlots } from './auctions/auction-slots.js';
import { LocalViewerCounts, type ViewerCountSource } from './auctions/viewer-counts.js';
import { BROADCAST_TICK_MS, Broadcaster } from './broadcast/broadcaster.js';
import { CountMessageEncoder } from './broadcast/count-message.js';
import type { SocketConfig } from './config.js';
import { BackendClient } from './backend/backend-client.js';
import { joinCluster, type Cluster, type ClusterOptions } from './cluster/cluster.js';
import { everyMark, type MarkTimer } from './cluster/wall-clock-marks.js';
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
import { DailySalt, msUntilMidnight, randomSalt } from './visitors/daily-salt.js';
import { WindowVisitors } from './visitors/window-visitors.js';

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

/**
 * With Redis, the broadcaster ticks this long after the marks on which every process publishes
 * its changes, by when they have arrived (a write takes 1–3 ms): a join elsewhere reaches this
 * process's viewers within one interval plus this (docs/scaling.md, "Latency of a join").
 */
const BROADCAST_AFTER_PUBLISH_MS = 25;

export async function startSocketServer(config: SocketConfig, log: Logger): Promise<SocketServer> {
  const metrics = new SocketMetrics();
  const slots = new AuctionSlots(config.MAX_AUCTIONS);
  const counts = new LocalViewerCounts(config.MAX_AUCTIONS);
  // Three quarters of the memory for the records, a quarter for their visitor sketches.
  const outboxBytes = config.OUTBOX_MAX_MB * 1024 * 1024;
  const outbox = new SnapshotOutbox({
    maxRecords: Math.floor((outboxBytes * 0.75) / OUTBOX_RECORD_BYTES),
    maxSketchBytes: Math.floor(outboxBytes * 0.25),
    maxAgeMs: config.OUTBOX_MAX_AGE_HOURS * 3_600_000,
  });
  // Bound once the flusher exists: the cluster's delivery may drop copies or allow more sending.
  let deliveryChanged = (): void => undefined;
  const onDeliveryChange = (): void => {
    deliveryChanged();
  };
  const cluster =
    config.REDIS_URL === undefined ? undefined : await startCluster(config.REDIS_URL, config, log, { slots, local: counts, outbox, onDeliveryChange });
  // What sampling, broadcasting and viewers read: this process's counts, or the sum over the cluster.
  const shown: ViewerCountSource = cluster?.counts ?? counts;
  const { journal, restored, lastClosedWindow } = await OutboxJournal.open(config.OUTBOX_FILE, outbox, {
    corrupt: (details) => {
      metrics.outboxFilesCorrupt++;
      log.error(details, 'the outbox file was damaged: moved aside, its valid snapshots kept');
    },
  }).catch(async (error: unknown) => {
    await cluster?.close();
    throw error;
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
    ...(cluster === undefined ? {} : { gate: cluster.delivery }),
    onSettled: () => {
      persist();
    },
  });
  deliveryChanged = () => {
    persist();
    flusher.kick();
  };
  // Every viewer still connected when a window opens is one of its visitors.
  const visitors = new WindowVisitors((add) => {
    liveFeed.forEachVisitor(add);
  });
  // With Redis one salt for the cluster, so that a visitor on two processes has one key.
  const salt = new DailySalt(cluster?.salt ?? randomSalt);
  const sampler = new Sampler({
    slots,
    counts: shown,
    outbox,
    visitors,
    intervalMs: config.SAMPLE_INTERVAL_MS,
    samplesPerWindow: config.SAMPLES_PER_SNAPSHOT,
    // Global with Redis: a slot with viewers on another process stays busy.
    isIdle: (slot) => shown.countAt(slot) === 0,
    onWindowClosed: (windowStart, snapshots) => {
      metrics.snapshotsMade += snapshots;
      if (snapshots > 0) log.debug({ window: new Date(windowStart).toISOString(), snapshots }, 'window closed');
      persist(windowStart);
      sharedVisitors?.windowOpened();
      cluster?.delivery.windowClosed(windowStart);
      flusher.kick();
    },
  });

  // A window the previous process closed at shutdown is stored (or waiting) already: a second
  // snapshot of it would be refused as a duplicate, so sampling resumes after it.
  if (lastClosedWindow >= 0) sampler.skipWindowsThrough(lastClosedWindow);
  // With Redis every process's sketch of a window gets the others' visitors: whichever delivers, it counts the cluster's.
  const sharedVisitors = await cluster?.shareVisitors({ visitors, openWindow: () => sampler.openWindow });

  const app = uWS.App();
  const encoder = new CountMessageEncoder();
  const broadcaster = new Broadcaster(app, slots, shown, encoder, metrics, config.BROADCAST_INTERVAL_MS);
  const liveFeed = new LiveFeed({
    slots,
    counts,
    shown,
    directory: new AuctionDirectory({
      client,
      ttlMs: config.LOOKUP_TTL_MS,
      negativeTtlMs: config.LOOKUP_NEGATIVE_TTL_MS,
      maxEntries: config.LOOKUP_CACHE_ENTRIES,
      maxPendingLookups: config.MAX_PENDING_LOOKUPS,
      log,
    }),
    encoder,
    broadcaster,
    metrics,
    maxConnections: config.MAX_CONNECTIONS,
    maxWaiting: config.MAX_WAITING_VIEWERS,
    visitors,
    salt,
    trustedProxyHops: config.TRUSTED_PROXY_HOPS,
  });
  app.ws(liveFeedPath(':id'), liveFeed.behavior());
  registerHttpRoutes(app, {
    metrics: createPrometheusRegistry(metrics, () => ({
      connections: counts.connections,
      waiting: liveFeed.waitingForLookup,
      auctions: slots.size,
      outbox: outbox.size,
      dropped: outbox.dropped,
      outboxFileBytes: journal.bytes,
    }), cluster === undefined ? undefined : { ...cluster, ...(sharedVisitors === undefined ? {} : { visitors: sharedVisitors }) }),
    ready: () => client.reachable(),
    liveCount: (auctionId) => {
      const slot = slots.slotOf(auctionId);
      return slot < 0 ? 0 : shown.countAt(slot);
    },
    ...(cluster === undefined ? {} : { unavailable: () => (cluster.counts.degraded ? 'redis unavailable' : undefined) }),
  });

  const listenSocket = await listen(app, config.SOCKET_HOST, config.SOCKET_PORT).catch(async (error: unknown) => {
    // The file keeps every snapshot: the next start sends them.
    await cluster?.close();
    await journal.close();
    await client.close();
    throw error;
  });
  sampler.start();
  const midnight = everyMidnight(() => {
    salt.rotate();
  });
  // With Redis, on the cluster's shared marks, just after every process published its changes.
  let marks: MarkTimer | undefined;
  if (cluster === undefined) broadcaster.start();
  else marks = everyMark(BROADCAST_TICK_MS, BROADCAST_AFTER_PUBLISH_MS, broadcaster.tick);
  flusher.kick();

  let shuttingDown: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    uWS.us_listen_socket_close(listenSocket);
    liveFeed.closeAll(CloseCode.goingAway, 'server shutting down');
    broadcaster.stop();
    marks?.stop();
    clearTimeout(midnight.timer);
    sampler.stop();
    // The save comes first: nothing after it (a deadline, a second signal) can lose the window.
    await journal.sync(sampler.closeWindow());
    // Before delivery's wait: the other processes subtract this one's viewers at once, and one
    // of them takes over delivery when any is alive.
    await cluster?.leave();
    flusher.kick();
    const delivered = await flusher.drain(config.SHUTDOWN_FLUSH_TIMEOUT_MS);
    flusher.stop();
    const handedOver = cluster !== undefined && !cluster.delivery.isLeader;
    await cluster?.close();
    await journal.close();
    await client.close();
    if (delivered) log.info('every snapshot delivered');
    else if (handedOver) log.info({ snapshots: outbox.size, file: config.OUTBOX_FILE }, 'snapshot copies kept in the outbox file: the leader delivers them');
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

async function startCluster(
  redisUrl: string,
  config: SocketConfig,
  log: Logger,
  parts: Pick<ClusterOptions, 'slots' | 'local' | 'outbox' | 'onDeliveryChange'>,
): Promise<Cluster> {
  const cluster = await joinCluster({
    ...parts,
    redisUrl,
    processId: config.SOCKET_PROCESS_ID,
    prefix: config.REDIS_KEY_PREFIX,
    intervalMs: config.BROADCAST_INTERVAL_MS,
    windowMs: config.SAMPLE_INTERVAL_MS * config.SAMPLES_PER_SNAPSHOT,
    log: (message) => {
      log.warn(message);
    },
  });
  log.info({ processId: cluster.processId, epoch: cluster.epoch, prefix: config.REDIS_KEY_PREFIX }, 'counting viewers over the cluster through Redis');
  return cluster;
}

/** Runs `task` at every UTC midnight (yesterday's salt is dropped then even when nobody joins). */
function everyMidnight(task: () => void): { timer: NodeJS.Timeout | undefined } {
  const handle: { timer: NodeJS.Timeout | undefined } = { timer: undefined };
  const arm = (): void => {
    // A minimum of one second: a timer that fires a little early must not run twice in a row.
    handle.timer = setTimeout(() => {
      task();
      arm();
    }, Math.max(1_000, msUntilMidnight(Date.now()) + 1));
    handle.timer.unref();
  };
  arm();
  return handle;
}

function listen(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (socket === false) reject(new Error(`could not listen on ${host}:${port}`));
      else resolve(socket);
    });
  });
}
