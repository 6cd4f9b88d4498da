/**
 * Scenario 6, the soak: our socket server and backend (not the peers) under `idleViewers` open
 * viewers over 1,000 auctions, a paced join/leave churn, and real flushes (short windows on both
 * services, so the backend stores a snapshot per auction every window) for 10 minutes (short: 1).
 * Every `soakSampleEveryMs` it reads each service's RSS (/proc), V8 heap and event-loop lag
 * (/metrics), and the churn achieved; then it says per metric whether the series is flat within
 * its own noise, the warm-up left out (src/soak/trend.ts). At the warm-up's end, at the ends of
 * the parts the verdict compares and at the end, both services also collect their garbage
 * (through their inspectors) and the heap and RSS are read again: what they retain, without the
 * garbage V8 has not collected yet.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@viewer-analytics/testkit';
import { countSnapshots, seedAuctions } from '../lib/database.js';
import { collectGarbage } from '../lib/inspector-gc.js';
import { sampleProcess, type ProcSample } from '../lib/proc.js';
import { httpText, type Service } from '../lib/processes.js';
import { formatInt } from '../lib/progress.js';
import { distribution, mergeCounts, sum, type Distribution } from '../lib/stats.js';
import { split } from '../load/pool.js';
import { PacedChurn } from '../soak/paced-churn.js';
import { svgPlot } from '../soak/plot.js';
import { trend, trendWindows, type Trend } from '../soak/trend.js';
import { rotate, startOurBackend, startOurSocket, type Context } from './context.js';

export interface ServiceSample {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  /** V8's external memory (Buffers and the like), bytes. */
  readonly externalBytes: number;
  /** p99 / mean of the event-loop delays since the previous scrape (prom-client resets its histogram on each). */
  readonly lagP99Ms: number;
  readonly lagMeanMs: number;
  /** CPU since the previous sample, cores (1.0 = one core busy). */
  readonly cpuCores: number;
  /** Major (mark-compact) collections so far, the checkpoints' forced ones included. */
  readonly majorGcs: number;
}

/** Read right after a full garbage collection. */
export interface Retained {
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
}

export interface SoakSample {
  /** Seconds since the soak started. */
  readonly t: number;
  readonly socket: ServiceSample;
  readonly backend: ServiceSample;
  /** Churn joins completed per second since the previous sample. */
  readonly joinsPerSecond: number;
  /** The socket server's open connections (socket_connections). */
  readonly openViewers: number;
  /** Snapshots the backend has stored for the socket server so far. */
  readonly snapshotsStored: number;
  readonly outbox: number;
  /** At the checkpoints only: the same process after a full garbage collection. */
  readonly afterGc?: { readonly socket: Retained; readonly backend: Retained };
}

export interface SoakTrend {
  readonly metric: string;
  readonly service: string;
  readonly unit: string;
  readonly trend: Trend;
}

export interface SoakResult {
  readonly seconds: number;
  readonly sampleEverySeconds: number;
  readonly warmupSeconds: number;
  readonly auctions: number;
  readonly windowSeconds: number;
  readonly viewers: { readonly target: number; readonly held: number; readonly failed: number; readonly failures: Record<string, number>; readonly rampSeconds: number };
  readonly churn: {
    readonly perSecondTarget: number;
    readonly joins: number;
    readonly joinsPerSecond: number;
    readonly failed: number;
    readonly skipped: number;
    readonly failures: Record<string, number>;
    readonly joinMs: Distribution;
  };
  readonly snapshots: {
    /** Made at window closes by the socket server (socket_snapshots_made_total). */
    readonly made: number;
    /** Stored as the backend replied (socket_snapshots_sent_total{outcome="stored"}). */
    readonly stored: number;
    readonly dropped: number;
    readonly inDatabase: number;
  };
  readonly samples: readonly SoakSample[];
  readonly trends: readonly SoakTrend[];
}

/** One panel of the plot and one group of summary rows: a metric, per service. */
export interface SoakMetric {
  readonly label: string;
  readonly unit: string;
  readonly lines: readonly {
    readonly service: string;
    readonly value: (sample: SoakSample) => number;
    /** A series of the checkpoints after a full GC: plotted dashed, no verdict of its own. */
    readonly afterGc?: true;
  }[];
}

const MIB = 2 ** 20;
export const SOAK_METRICS: readonly SoakMetric[] = [
  {
    label: 'RSS (/proc)',
    unit: 'MiB',
    lines: [
      { service: 'socket server', value: (s) => s.socket.rssBytes / MIB },
      { service: 'backend', value: (s) => s.backend.rssBytes / MIB },
      { service: 'socket server', value: (s) => (s.afterGc?.socket.rssBytes ?? Number.NaN) / MIB, afterGc: true },
      { service: 'backend', value: (s) => (s.afterGc?.backend.rssBytes ?? Number.NaN) / MIB, afterGc: true },
    ],
  },
  {
    label: 'V8 heap used',
    unit: 'MiB',
    lines: [
      { service: 'socket server', value: (s) => s.socket.heapUsedBytes / MIB },
      { service: 'backend', value: (s) => s.backend.heapUsedBytes / MIB },
      { service: 'socket server', value: (s) => (s.afterGc?.socket.heapUsedBytes ?? Number.NaN) / MIB, afterGc: true },
      { service: 'backend', value: (s) => (s.afterGc?.backend.heapUsedBytes ?? Number.NaN) / MIB, afterGc: true },
    ],
  },
  {
    label: 'event-loop lag p99 (per sample interval)',
    unit: 'ms',
    lines: [
      { service: 'socket server', value: (s) => s.socket.lagP99Ms },
      { service: 'backend', value: (s) => s.backend.lagP99Ms },
    ],
  },
  { label: 'churn achieved', unit: 'joins/s', lines: [{ service: 'load', value: (s) => s.joinsPerSecond }] },
  { label: 'open viewers', unit: 'viewers', lines: [{ service: 'socket server', value: (s) => s.openViewers }] },
];

const DATABASE = 'bench_soak';
/** The paced churn's source address: apart from the load processes' 127.0.0.2–9. */
const CHURN_ADDRESS = '127.0.3.1';

/** Value of an unlabelled metric (or one whose labels are given) in a Prometheus text exposition. */
function metric(text: string | undefined, name: string): number {
  if (text === undefined) return Number.NaN;
  const at = text.indexOf(`\n${name} `);
  if (at < 0) return Number.NaN;
  const end = text.indexOf('\n', at + 1);
  return Number(text.slice(at + name.length + 2, end < 0 ? undefined : end));
}

function serviceSample(text: string | undefined, now: ProcSample | undefined, before: ProcSample | undefined): ServiceSample {
  const seconds = now === undefined || before === undefined ? 0 : (now.at - before.at) / 1000;
  return {
    rssBytes: now?.rssBytes ?? Number.NaN,
    heapUsedBytes: metric(text, 'nodejs_heap_size_used_bytes'),
    heapTotalBytes: metric(text, 'nodejs_heap_size_total_bytes'),
    externalBytes: metric(text, 'nodejs_external_memory_bytes'),
    lagP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    lagMeanMs: metric(text, 'nodejs_eventloop_lag_mean_seconds') * 1000,
    majorGcs: metric(text, 'nodejs_gc_duration_seconds_count{kind="major"}'),
    cpuCores: seconds > 0 && now !== undefined && before !== undefined ? (now.cpuSeconds - before.cpuSeconds) / seconds : Number.NaN,
  };
}

/** `total` shared out over `parts`, the first ones taking the remainder. */
function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

export async function runSoakSuite(ctx: Context, auctions: readonly string[]): Promise<SoakResult> {
  const { config, progress } = ctx;
  progress.step(`soak: seeding ${formatInt(auctions.length)} auctions (viewer analytics on) into ${DATABASE}`);
  await seedAuctions(ctx.mongo, DATABASE, auctions);
  const windows = { SAMPLE_INTERVAL_MS: String(config.soakSampleIntervalMs), SAMPLES_PER_SNAPSHOT: String(config.soakSamplesPerSnapshot) };
  // Inspectors, for the full garbage collections at the checkpoints (idle otherwise).
  const inspect = { socket: await freePort(), backend: await freePort() };
  const backend = await startOurBackend(ctx, DATABASE, 'ours-backend-soak', { ...windows, NODE_OPTIONS: `--inspect=127.0.0.1:${inspect.backend}` });
  let socket: Service | undefined;
  try {
    socket = await startOurSocket(ctx, backend, 'ours-socket-soak', {
      ...windows,
      NODE_OPTIONS: `--inspect=127.0.0.1:${inspect.socket}`,
      // Room for the paced churn's joiners beside the held viewers.
      MAX_CONNECTIONS: String(config.idleViewers + 1_000),
      // The default: every auction is looked up again each minute, as in production.
      LOOKUP_TTL_MS: '60000',
    });
    return await soak(ctx, { backend, socket }, inspect, auctions);
  } finally {
    await socket?.stop();
    await backend.stop();
  }
}

/** A full garbage collection in both services, then their heap and RSS. */
async function retained(services: { socket: Service; backend: Service }, inspect: { socket: number; backend: number }): Promise<NonNullable<SoakSample['afterGc']>> {
  await Promise.all([collectGarbage(inspect.socket), collectGarbage(inspect.backend)]);
  const read = async (service: Service): Promise<Retained> => ({
    heapUsedBytes: metric(await httpText(`${service.origin}/metrics`), 'nodejs_heap_size_used_bytes'),
    rssBytes: sampleProcess(service.pid)?.rssBytes ?? Number.NaN,
  });
  const [socket, backend] = await Promise.all([read(services.socket), read(services.backend)]);
  return { socket, backend };
}

async function soak(
  ctx: Context,
  services: { socket: Service; backend: Service },
  inspect: { socket: number; backend: number },
  auctions: readonly string[],
): Promise<SoakResult> {
  const { config, progress, workers } = ctx;
  const { socket, backend } = services;
  const seconds = config.soakMs / 1000;
  const warmupSeconds = config.soakWarmupMs / 1000;
  const { early, late } = trendWindows(seconds, warmupSeconds);
  const every = config.soakSampleEveryMs / 1000;
  const checkpoints = new Set([warmupSeconds, early[1], late[0], seconds].map((t) => Math.round(t / every) * every));
  const target = { kind: 'plain', host: '127.0.0.1', port: socket.port } as const;
  const windowSeconds = (config.soakSampleIntervalMs * config.soakSamplesPerSnapshot) / 1000;

  // One viewer per auction first, few at a time: each is a first lookup (backend → database).
  progress.step(`soak: opening ${formatInt(config.idleViewers)} viewers over ${formatInt(auctions.length)} auctions`);
  const rampStarted = performance.now();
  const slices = split(auctions, workers.length);
  const firsts = await Promise.all(
    workers.map((worker, w) => worker.hold({ target, auctions: slices[w] ?? [], count: slices[w]?.length ?? 0, concurrency: 32, timeoutMs: 120_000 })),
  );
  const rest = config.idleViewers - sum(firsts.map((h) => h.opened));
  const holds = await Promise.all(
    workers.map((worker, w) =>
      worker.hold({
        target,
        auctions: rotate(auctions, Math.floor((w * auctions.length) / workers.length)),
        count: share(rest, workers.length, w),
        concurrency: config.holdConcurrency,
        timeoutMs: 180_000,
      }),
    ),
  );
  const rampSeconds = (performance.now() - rampStarted) / 1000;
  const all = [...firsts, ...holds];
  const viewers = {
    target: config.idleViewers,
    held: sum(all.map((h) => h.opened)),
    failed: sum(all.map((h) => h.failed)),
    failures: mergeCounts(...all.map((h) => h.failures)),
    rampSeconds,
  };
  progress.step(
    `soak: ${formatInt(viewers.held)} viewers open in ${rampSeconds.toFixed(1)} s (${viewers.failed} failed); ` +
      `${config.soakMs / 60_000} min of ${config.soakChurnPerSecond} joins/s, windows of ${windowSeconds} s, a sample every ${config.soakSampleEveryMs / 1000} s`,
  );

  const churn = new PacedChurn(target, auctions, config.soakChurnPerSecond, CHURN_ADDRESS);
  const samples: SoakSample[] = [];
  let procs = { socket: sampleProcess(socket.pid), backend: sampleProcess(backend.pid) };
  let joinsBefore = 0;
  // Scrape once so that the first sample's lag covers its own interval only.
  await Promise.all([httpText(`${socket.origin}/metrics`), httpText(`${backend.origin}/metrics`)]);
  const started = performance.now();
  churn.start();
  for (let i = 1; i * config.soakSampleEveryMs <= config.soakMs; i++) {
    await sleep(Math.max(0, started + i * config.soakSampleEveryMs - performance.now()));
    const [socketText, backendText] = await Promise.all([httpText(`${socket.origin}/metrics`), httpText(`${backend.origin}/metrics`)]);
    const now = { socket: sampleProcess(socket.pid), backend: sampleProcess(backend.pid) };
    const joins = churn.joins;
    const sample: SoakSample = {
      t: (i * config.soakSampleEveryMs) / 1000,
      socket: serviceSample(socketText, now.socket, procs.socket),
      backend: serviceSample(backendText, now.backend, procs.backend),
      joinsPerSecond: (joins - joinsBefore) / (config.soakSampleEveryMs / 1000),
      openViewers: metric(socketText, 'socket_connections'),
      snapshotsStored: metric(socketText, 'socket_snapshots_sent_total{outcome="stored"}'),
      outbox: metric(socketText, 'socket_outbox_snapshots'),
      // The collection's pause falls in the lag histogram the read after it resets: no sample's lag holds it.
      ...(checkpoints.has((i * config.soakSampleEveryMs) / 1000) ? { afterGc: await retained(services, inspect) } : {}),
    };
    samples.push(sample);
    procs = now;
    joinsBefore = joins;
    progress.step(
      `soak: ${sample.t.toFixed(0)} s: socket RSS ${(sample.socket.rssBytes / MIB).toFixed(1)} MiB, heap ${(sample.socket.heapUsedBytes / MIB).toFixed(1)} MiB, ` +
        `lag p99 ${sample.socket.lagP99Ms.toFixed(1)} ms; backend RSS ${(sample.backend.rssBytes / MIB).toFixed(1)} MiB, ` +
        `heap ${(sample.backend.heapUsedBytes / MIB).toFixed(1)} MiB, lag p99 ${sample.backend.lagP99Ms.toFixed(1)} ms; ` +
        `${formatInt(sample.joinsPerSecond)} joins/s, ${formatInt(sample.openViewers)} open, ${formatInt(sample.snapshotsStored)} snapshots stored` +
        (sample.afterGc === undefined
          ? ''
          : `; after a full GC: socket heap ${(sample.afterGc.socket.heapUsedBytes / MIB).toFixed(1)} MiB, RSS ${(sample.afterGc.socket.rssBytes / MIB).toFixed(1)} MiB, ` +
            `backend heap ${(sample.afterGc.backend.heapUsedBytes / MIB).toFixed(1)} MiB, RSS ${(sample.afterGc.backend.rssBytes / MIB).toFixed(1)} MiB`),
    );
  }
  const churnSeconds = (performance.now() - started) / 1000;
  await churn.stop();

  // The window under way when the churn stopped still closes and is delivered: wait for it.
  const settleBy = performance.now() + 2 * windowSeconds * 1000 + 5_000;
  let text = await httpText(`${socket.origin}/metrics`);
  const madeAtEnd = metric(text, 'socket_snapshots_made_total');
  while (performance.now() < settleBy && (metric(text, 'socket_snapshots_made_total') === madeAtEnd || metric(text, 'socket_outbox_snapshots') > 0)) {
    await sleep(250);
    text = await httpText(`${socket.origin}/metrics`);
  }
  const snapshots = {
    made: metric(text, 'socket_snapshots_made_total'),
    stored: metric(text, 'socket_snapshots_sent_total{outcome="stored"}'),
    dropped: metric(text, 'socket_snapshots_dropped_total'),
    inDatabase: await countSnapshots(ctx.mongo, DATABASE),
  };
  progress.step(
    `soak: ${formatInt(snapshots.made)} snapshots made, ${formatInt(snapshots.stored)} stored (${formatInt(snapshots.inDatabase)} in the database); closing the viewers`,
  );
  await Promise.all(workers.map((w) => w.release(30_000)));

  const trends: SoakTrend[] = SOAK_METRICS.flatMap((m) =>
    m.lines.filter((line) => line.afterGc === undefined).map((line) => ({
      metric: m.label,
      service: line.service,
      unit: m.unit,
      trend: trend(
        samples.map((s) => ({ t: s.t, value: line.value(s) })),
        seconds,
        warmupSeconds,
      ),
    })),
  );
  return {
    seconds,
    sampleEverySeconds: config.soakSampleEveryMs / 1000,
    warmupSeconds,
    auctions: auctions.length,
    windowSeconds,
    viewers,
    churn: {
      perSecondTarget: config.soakChurnPerSecond,
      joins: churn.joins,
      joinsPerSecond: churn.joins / churnSeconds,
      failed: churn.failed,
      skipped: churn.skipped,
      failures: churn.failures,
      joinMs: distribution(churn.joinMs.toArray()),
    },
    snapshots,
    samples,
    trends,
  };
}

const num = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** The soak's summary table: one row per metric and service. */
export function soakMarkdown(result: SoakResult): string[] {
  const minutes = (s: number): string => (s % 60 === 0 ? `${s / 60} min` : `${num(s, 0)} s`);
  const edge = minutes(result.trends[0]?.trend.edgeSeconds ?? 60);
  const lines = [
    `#### Soak: ${formatInt(result.viewers.held)} viewers over ${formatInt(result.auctions)} auctions, ${result.churn.perSecondTarget} joins/s, ` +
      `${result.windowSeconds} s windows flushed, ${minutes(result.seconds)}`,
    '',
    `| service | metric | first ${edge} | last ${edge} | slope after warm-up, per min | noise (σ of one sample) | early → late mean | change | tolerance | verdict |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const { metric: label, service, unit, trend: t } of result.trends) {
    const digits = unit === 'viewers' || unit === 'joins/s' ? 0 : unit === 'ms' ? 2 : 1;
    lines.push(
      `| ${service} | ${label} (${unit}) | ${num(t.firstMean, digits)} | ${num(t.lastMean, digits)} | ${t.slopePerMinute >= 0 ? '+' : ''}${num(t.slopePerMinute, 2)} | ` +
        `${num(t.noise, 2)} | ${num(t.earlyMean, digits)} → ${num(t.lateMean, digits)} | ${t.changePercent >= 0 ? '+' : ''}${num(t.changePercent, 1)} % | ` +
        `± ${num(t.tolerancePercent, 1)} % | ${t.flat ? 'flat within noise' : `**not flat** (${t.lateMean > t.earlyMean ? 'grows' : 'falls'})`} |`,
    );
  }
  const c = result.churn;
  const s = result.snapshots;
  const { early, late } = trendWindows(result.seconds, result.warmupSeconds);
  lines.push(
    '',
    `Warm-up (first ${minutes(result.warmupSeconds)}) left out. Verdict: the late mean (${minutes(late[0])} to the end) within the tolerance of the ` +
      `early mean (${minutes(early[0])} to ${minutes(early[1])}); tolerance = 3 × the sample-to-sample noise (√(mean squared successive difference / 2) after the warm-up), ` +
      'at least 2 % of the early mean.',
    `Churn: ${formatInt(c.joins)} joins (${num(c.joinsPerSecond, 0)}/s of ${c.perSecondTarget} asked), ${c.failed} failed` +
      `${c.failed > 0 ? ` ${JSON.stringify(c.failures)}` : ''}, ${c.skipped} not started (too many in flight); join handshake p50 ${num(c.joinMs.p50, 2)} ms, ` +
      `p99 ${num(c.joinMs.p99, 2)} ms. Viewers: ${formatInt(result.viewers.held)} of ${formatInt(result.viewers.target)} opened in ` +
      `${num(result.viewers.rampSeconds)} s (${result.viewers.failed} failed).`,
    `Snapshots: ${formatInt(s.made)} made by the socket server, ${formatInt(s.stored)} stored as the backend replied, ${formatInt(s.dropped)} dropped, ` +
      `**${formatInt(s.inDatabase)} in the database**.`,
    '',
    'After a full garbage collection (inspector, twice) at the checkpoints: what each process retains.',
    '',
    '| at | socket server heap used | socket server RSS | backend heap used | backend RSS |',
    '| ---: | ---: | ---: | ---: | ---: |',
  );
  for (const sample of result.samples) {
    const gc = sample.afterGc;
    if (gc === undefined) continue;
    const mib = (bytes: number): string => `${num(bytes / MIB)} MiB`;
    lines.push(`| ${minutes(sample.t)} | ${mib(gc.socket.heapUsedBytes)} | ${mib(gc.socket.rssBytes)} | ${mib(gc.backend.heapUsedBytes)} | ${mib(gc.backend.rssBytes)} |`);
  }
  return lines;
}

const COLORS: Record<string, string> = { 'socket server': '#1f5fa8', backend: '#c8412b', load: '#2e8b3d' };

/** The plot of every sample: one panel per metric, both services in each. */
export function soakSvg(result: SoakResult, startedAt: string): string {
  const { early, late } = trendWindows(result.seconds, result.warmupSeconds);
  return svgPlot({
    title: `Soak: ${formatInt(result.viewers.held)} viewers, ${result.churn.perSecondTarget} joins/s, ${result.windowSeconds} s windows flushed`,
    subtitle: [
      `${startedAt}, a sample every ${result.sampleEverySeconds} s; ${formatInt(result.snapshots.inDatabase)} snapshots stored in the database.`,
      'Shaded: the warm-up (left out), then the early and late parts the verdict compares. Dashed: read right after a full GC.',
    ],
    totalSeconds: result.seconds,
    bands: [
      { from: 0, to: result.warmupSeconds, label: 'warm-up', color: '#ececec' },
      { from: early[0], to: early[1], label: 'early', color: '#eef4fb' },
      { from: late[0], to: late[1], label: 'late', color: '#eef4fb' },
    ],
    panels: SOAK_METRICS.map((m) => ({
      title: m.label,
      unit: m.unit,
      lines: m.lines.map((line) => ({
        name: line.afterGc === undefined ? line.service : `${line.service}, after full GC`,
        color: COLORS[line.service] ?? '#333',
        dashed: line.afterGc === true,
        points: result.samples.map((s) => ({ t: s.t, value: line.value(s) })),
      })),
    })),
  });
}
