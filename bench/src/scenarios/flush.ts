/**
 * Scenario 5: one window of 10,000 live auctions flushed through our socket server → backend →
 * database. Two ways:
 *  - end to end: the real socket server process with one real viewer on each of the 10,000
 *    auctions (short windows via SAMPLE_INTERVAL_MS × SAMPLES_PER_SNAPSHOT), timed from the
 *    window's end on the wall clock until its /metrics counts 10,000 snapshots stored;
 *  - modules: the socket server's own AuctionSlots / LocalViewerCounts / Sampler / SnapshotOutbox /
 *    Flusher / BackendClient driven in this process against the real backend, timed from the
 *    window's close. Same code path minus uWS and the viewers, so it fits the short mode: opening
 *    10,000 viewers means 10,000 first-time auction lookups (backend → database), which take
 *    minutes on FerretDB (measured: 149 s in a quiet full run).
 * Both count the batch requests (the bar: two) and check the documents in the database.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AuctionSlots, BackendClient, Flusher, LocalViewerCounts, Sampler, SnapshotOutbox, SocketMetrics } from '@viewer-analytics/socket/hot-paths';
import { countSnapshots, insertDiagnostics, lookupDiagnostics, seedAuctions, type LookupDiagnostics } from '../lib/database.js';
import { CpuMeter } from '../lib/proc.js';
import { httpText, type Service } from '../lib/processes.js';
import { formatInt } from '../lib/progress.js';
import { split } from '../load/pool.js';
import { startOurBackend, startOurSocket, type Context } from './context.js';
import type { CpuUse } from './socket.js';

export interface FlushWindow {
  readonly via: 'e2e' | 'modules';
  readonly windowStart: string;
  readonly auctions: number;
  readonly batchRequests: number;
  readonly stored: number;
  /** Window end (e2e: wall-clock boundary; modules: closeWindow()) → all stored, ms. */
  readonly storedAfterMs: number;
  readonly documentsInDatabase: number;
  readonly withinBar: boolean;
  readonly backendCpu: CpuUse;
  readonly databaseCpu: CpuUse | undefined;
}

export interface FlushResult {
  readonly auctions: number;
  readonly barMs: number;
  readonly windows: readonly FlushWindow[];
  readonly e2eSetup: { readonly viewers: number; readonly failed: number; readonly rampSeconds: number } | undefined;
  readonly diagnostics: LookupDiagnostics & { readonly insertManyMs: number; readonly insertManyCount: number };
}

const BAR_MS = 2_000;
const DATABASE = 'bench_flush';

type FlusherLog = ConstructorParameters<typeof Flusher>[0]['log'];

export async function runFlushSuite(ctx: Context, auctions: readonly string[]): Promise<FlushResult> {
  const { config, progress } = ctx;
  progress.step(`flush: seeding ${formatInt(auctions.length)} auctions into ${DATABASE}`);
  await seedAuctions(ctx.mongo, DATABASE, auctions);
  // One-interval windows on the backend: every window the flush scenarios use starts on one of them.
  const backend = await startOurBackend(ctx, DATABASE, 'ours-backend-flush', {
    SAMPLE_INTERVAL_MS: String(ctx.config.flushSampleIntervalMs),
    SAMPLES_PER_SNAPSHOT: '1',
  });
  const windows: FlushWindow[] = [];
  let e2eSetup: FlushResult['e2eSetup'];
  try {
    if (config.flushModuleWindows > 0) windows.push(...(await viaModules(ctx, backend, auctions)));
    if (config.flushE2eWindows > 0) {
      const e2e = await endToEnd(ctx, backend, auctions);
      windows.push(...e2e.windows);
      e2eSetup = e2e.setup;
    }
  } finally {
    await backend.stop();
  }
  progress.step('flush: timing the batch ingest queries on the database itself');
  const lookups = await lookupDiagnostics(ctx.mongo, DATABASE, auctions, 5_000);
  const insertManyMs = await insertDiagnostics(ctx.mongo, DATABASE, auctions, 5_000);
  return { auctions: auctions.length, barMs: BAR_MS, windows, e2eSetup, diagnostics: { ...lookups, insertManyMs, insertManyCount: 5_000 } };
}

function meters(ctx: Context, backend: Service): { stop(): { backendCpu: CpuUse; databaseCpu: CpuUse | undefined } } {
  const backendMeter = new CpuMeter([backend.pid]);
  const databaseMeter = ctx.databasePids.length > 0 ? new CpuMeter(ctx.databasePids) : undefined;
  backendMeter.start(250);
  databaseMeter?.start(250);
  return {
    stop() {
      const b = backendMeter.stop();
      const d = databaseMeter?.stop();
      return {
        backendCpu: { cpuSeconds: b.cpuSeconds, cores: b.cores, peakCores: b.peakCores },
        databaseCpu: d === undefined ? undefined : { cpuSeconds: d.cpuSeconds, cores: d.cores, peakCores: d.peakCores },
      };
    },
  };
}

async function viaModules(ctx: Context, backend: Service, auctions: readonly string[]): Promise<FlushWindow[]> {
  const { config, progress } = ctx;
  const slots = new AuctionSlots(auctions.length);
  const counts = new LocalViewerCounts(auctions.length);
  const outbox = new SnapshotOutbox({ maxRecords: auctions.length * 4, maxAgeMs: Number.POSITIVE_INFINITY });
  for (const id of auctions) counts.join(slots.acquire(id));
  const client = new BackendClient(backend.origin, ctx.internalKey);
  const metrics = new SocketMetrics();
  let requests = 0;
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  const flusher = new Flusher({
    outbox,
    client: {
      postSnapshots: (body, signal) => {
        requests++;
        return client.postSnapshots(body, signal);
      },
    },
    concurrency: 2, // FLUSH_CONCURRENCY's default
    retryBaseMs: 1_000,
    retryMaxMs: 60_000,
    log: silent as unknown as FlusherLog, // the Flusher only calls info/warn/error/debug on its logger
    metrics,
    onSettled: () => undefined, // no outbox file here: the bench times delivery alone
  });
  const interval = config.flushSampleIntervalMs;
  const samples = 2;
  const sampler = new Sampler({
    slots,
    counts,
    outbox,
    intervalMs: interval,
    samplesPerWindow: samples,
    isIdle: (slot) => counts.countAt(slot) === 0,
    onWindowClosed: () => {
      flusher.kick();
    },
  });
  const windowMs = interval * samples;
  // Past windows (a day ago), one per measured round: every snapshot is new to the database.
  const first = Math.floor(Date.now() / windowMs) * windowMs - 86_400_000;
  const windows: FlushWindow[] = [];
  try {
    for (let round = 0; round < config.flushModuleWindows; round++) {
      const windowStart = first + round * windowMs;
      sampler.sample(windowStart);
      sampler.sample(windowStart + interval);
      const storedBefore = metrics.snapshotsSent.stored;
      const requestsBefore = requests;
      const meter = meters(ctx, backend);
      const closedAt = performance.now();
      sampler.closeWindow(); // → outbox → flusher.kick()
      const deadline = closedAt + 60_000;
      while ((outbox.size > 0 || metrics.snapshotsSent.stored - storedBefore < auctions.length) && performance.now() < deadline) {
        if (metrics.flushFailures > 0) throw new Error('flush: a batch request failed; see the backend log');
        await sleep(5);
      }
      const storedAfterMs = performance.now() - closedAt;
      const cpu = meter.stop();
      const stored = metrics.snapshotsSent.stored - storedBefore;
      const documentsInDatabase = await countSnapshots(ctx.mongo, DATABASE, { timestamp: new Date(windowStart) });
      const result: FlushWindow = {
        via: 'modules',
        windowStart: new Date(windowStart).toISOString(),
        auctions: auctions.length,
        batchRequests: requests - requestsBefore,
        stored,
        storedAfterMs,
        documentsInDatabase,
        withinBar: storedAfterMs <= BAR_MS && stored === auctions.length,
        ...cpu,
      };
      windows.push(result);
      progress.step(
        `flush/modules: window ${round + 1}: ${formatInt(stored)} snapshots stored in ${formatInt(storedAfterMs)} ms ` +
          `with ${result.batchRequests} batch requests (${formatInt(documentsInDatabase)} in the database)`,
      );
    }
  } finally {
    flusher.stop();
    await client.close();
  }
  return windows;
}

const STORED = /^socket_snapshots_sent_total\{outcome="stored"\} (\d+)$/m;
const FLUSHES = /^socket_flush_duration_seconds_count (\d+)$/m;
const OUTBOX = /^socket_outbox_snapshots (\d+)$/m;

interface SocketCounters {
  readonly stored: number;
  readonly flushes: number;
  readonly outbox: number;
}

async function counters(socket: Service): Promise<SocketCounters | undefined> {
  const text = await httpText(`${socket.origin}/metrics`);
  if (text === undefined) return undefined;
  const read = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? Number.NaN);
  return { stored: read(STORED), flushes: read(FLUSHES), outbox: read(OUTBOX) };
}

async function endToEnd(
  ctx: Context,
  backend: Service,
  auctions: readonly string[],
): Promise<{ windows: FlushWindow[]; setup: NonNullable<FlushResult['e2eSetup']> }> {
  const { config, progress, workers } = ctx;
  const interval = config.flushSampleIntervalMs;
  const windowMs = interval * config.flushSamplesPerSnapshot;
  const socket = await startOurSocket(ctx, backend, 'ours-socket-flush', {
    SAMPLE_INTERVAL_MS: String(interval),
    SAMPLES_PER_SNAPSHOT: String(config.flushSamplesPerSnapshot),
  });
  const windows: FlushWindow[] = [];
  try {
    progress.step(
      `flush/e2e: one viewer on each of ${formatInt(auctions.length)} auctions (each a first-time lookup: backend → database); ` +
        `windows of ${windowMs / 1000} s`,
    );
    const target = { kind: 'plain', host: '127.0.0.1', port: socket.port } as const;
    const slices = split(auctions, workers.length);
    const started = performance.now();
    const stopReporting = progress.every(3_000, () => `flush/e2e:   ${formatInt(workers.reduce((n, w) => n + w.opened, 0))} viewers open`);
    const holds = await Promise.all(
      workers.map((worker, w) => worker.hold({ target, auctions: slices[w] ?? [], count: slices[w]?.length ?? 0, concurrency: 64, timeoutMs: 300_000 })),
    );
    stopReporting();
    const setup = {
      viewers: holds.reduce((n, h) => n + h.opened, 0),
      failed: holds.reduce((n, h) => n + h.failed, 0),
      rampSeconds: (performance.now() - started) / 1000,
    };
    progress.step(`flush/e2e: ${formatInt(setup.viewers)} viewers open after ${setup.rampSeconds.toFixed(1)} s (${setup.failed} failed)`);

    for (let round = 0; round < config.flushE2eWindows; round++) {
      // The first window that starts after every earlier window's snapshots were delivered.
      let windowStart = (Math.floor(Date.now() / windowMs) + 1) * windowMs;
      for (let attempt = 0; ; attempt++) {
        if (attempt === 20) throw new Error('flush/e2e: the outbox never emptied between windows');
        await sleep(Math.max(0, windowStart + windowMs - 300 - Date.now()));
        const now = await counters(socket);
        if (now !== undefined && now.outbox === 0) break;
        windowStart += windowMs; // still delivering an earlier window: measure the next one
      }
      const before = await counters(socket);
      if (before === undefined) throw new Error('flush/e2e: the socket server does not answer /metrics');
      const windowEnd = windowStart + windowMs;
      await sleep(Math.max(0, windowEnd - Date.now()));
      const meter = meters(ctx, backend);
      let last: SocketCounters = before;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        last = (await counters(socket)) ?? last;
        if (last.stored - before.stored >= setup.viewers) break;
        await sleep(10);
      }
      const storedAfterMs = Date.now() - windowEnd;
      const cpu = meter.stop();
      const stored = last.stored - before.stored;
      const documentsInDatabase = await countSnapshots(ctx.mongo, DATABASE, { timestamp: new Date(windowStart) });
      const result: FlushWindow = {
        via: 'e2e',
        windowStart: new Date(windowStart).toISOString(),
        auctions: setup.viewers,
        batchRequests: last.flushes - before.flushes,
        stored,
        storedAfterMs,
        documentsInDatabase,
        withinBar: storedAfterMs <= BAR_MS && stored === auctions.length,
        ...cpu,
      };
      windows.push(result);
      progress.step(
        `flush/e2e: window ${round + 1}: ${formatInt(stored)} snapshots stored ${formatInt(storedAfterMs)} ms after the window ended, ` +
          `${result.batchRequests} batch requests (${formatInt(documentsInDatabase)} in the database)`,
      );
    }
    await Promise.all(workers.map((w) => w.release(30_000)));
    return { windows, setup };
  } finally {
    await socket.stop();
  }
}
