/**
 * Scenarios 1–3 for one socket server: idle viewers and memory per connection, join/leave churn,
 * and join-to-update latency of the other viewers during that churn. One fresh server process
 * per server under test; the same load workers drive all of them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@viewer-analytics/testkit';
import type { SocketServerName } from '../config.js';
import { collectGarbage } from '../lib/inspector-gc.js';
import { CpuMeter, sampleProcess, type CpuWindow } from '../lib/proc.js';
import type { Service } from '../lib/processes.js';
import { formatInt } from '../lib/progress.js';
import { distribution, mergeCounts, sum, type Distribution } from '../lib/stats.js';
import { GoChurn } from '../load/go-loadgen.js';
import type { ProbeResult } from '../load/messages.js';
import { split } from '../load/pool.js';
import {
  rotate,
  SOCKET_SERVER_LABEL,
  startOurBackend,
  startOurSocket,
  startSocketPeer,
  targetOf,
  type Context,
} from './context.js';
import type { Target } from '../load/raw-viewer.js';
import { checkConformance } from './conformance.js';

export interface CpuUse {
  /** CPU seconds of the process(es) during the phase. */
  readonly cpuSeconds: number;
  /** Average cores busy (1.0 = one core). */
  readonly cores: number;
  /** Busiest half second, cores. */
  readonly peakCores: number;
}

export interface IdleResult {
  readonly target: number;
  readonly held: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly rampSeconds: number;
  readonly rampJoinsPerSecond: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** (RSS with the viewers − RSS before them) / viewers. */
  readonly bytesPerConnection: number;
  readonly rampServerCpu: CpuUse;
  readonly rampGeneratorCpu: CpuUse;
  /** Count frames the held viewers received during ramp and settle (the coalesced broadcasts). */
  readonly framesReceived: number;
  readonly joinMs: Distribution;
}

export interface ChurnResult {
  readonly seconds: number;
  readonly joins: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly joinsPerSecond: number;
  readonly serverCpu: CpuUse;
  readonly generatorCpu: CpuUse;
  /** Server CPU seconds per 1,000 joins (each with its leave). */
  readonly serverCpuSecondsPer1000Joins: number;
  /** connect → first count for the churning viewers, ms. */
  readonly joinMs: Distribution;
  readonly observers: number;
  /** Count frames the observers (the "others") received during the churn. */
  readonly observerFrames: number;
  /** True when the server used ≥ 85 % of a core on average: it, not the generator, was the limit. */
  readonly serverBound: boolean;
}

export interface LatencyResult {
  readonly probes: number;
  readonly timeouts: number;
  readonly setupFailures: number;
  /** Join initiated (before TCP connect) → each other viewer read the new count, ms. */
  readonly observerMs: Distribution;
  /** Join initiated → the last other viewer read it, ms. */
  readonly allSeenMs: Distribution;
}

export interface SocketResult {
  readonly server: SocketServerName;
  readonly label: string;
  /** Protocol problems found with the official clients (empty: conforms). */
  readonly conformance: readonly string[] | undefined;
  readonly idle: IdleResult;
  readonly churn: ChurnResult;
  readonly latency: LatencyResult;
  /** The same probes after the churn, each on an auction with no change in the previous interval. */
  readonly quietLatency: LatencyResult;
}

/** Longer than a broadcast interval (200 ms) after the leave's update was seen: the next join finds the auction quiet. */
const QUIET_MS = 300;

function cpuUse(window: CpuWindow & { peakCores: number }): CpuUse {
  return { cpuSeconds: window.cpuSeconds, cores: window.cores, peakCores: window.peakCores };
}

export async function runSocketSuite(ctx: Context, server: SocketServerName): Promise<SocketResult> {
  const { progress } = ctx;
  const label = SOCKET_SERVER_LABEL[server];
  progress.step(`socket/${server}: starting ${label}`);
  let backend: Service | undefined;
  let service: Service;
  // Every server gets an inspector, for the full garbage collections around the memory reading (idle otherwise).
  const inspectPort = await freePort();
  const inspect = { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` };
  if (server === 'ours') {
    backend = await startOurBackend(ctx, ctx.liveDatabase, 'ours-backend-live');
    service = await startOurSocket(ctx, backend, 'ours-socket', inspect);
  } else {
    service = await startSocketPeer(ctx, server, inspect);
  }
  try {
    const target = targetOf(server, service);
    let conformance: string[] | undefined;
    if (ctx.config.suites.has('conformance')) {
      conformance = await checkConformance(server, service, ctx.liveAuctions[0] ?? '');
      progress.step(`socket/${server}: protocol check with the official client: ${conformance.length === 0 ? 'ok' : conformance.join('; ')}`);
    }
    await warmUp(ctx, server, target);
    const idle = await idleViewers(ctx, server, target, service, inspectPort);
    const { churn, latency } = await churnWithLatency(ctx, server, target, service);
    const quietLatency = await quietProbes(ctx, server, target);
    return { server, label, conformance, idle, churn, latency, quietLatency };
  } finally {
    await service.stop();
    await backend?.stop();
  }
}

/**
 * One viewer per auction, then all leave: JIT-warms every server the same way, and fills our
 * server's auction cache from the real backend lookup (the peers check an in-memory set).
 */
async function warmUp(ctx: Context, server: SocketServerName, target: Target): Promise<void> {
  const { workers, progress } = ctx;
  const auctions = [...ctx.liveAuctions, ...ctx.probeAuctions];
  const slices = split(auctions, workers.length);
  progress.step(`socket/${server}: warm-up, one viewer per auction (${formatInt(auctions.length)})`);
  const results = await Promise.all(
    workers.map((worker, w) => worker.hold({ target, auctions: slices[w] ?? [], count: slices[w]?.length ?? 0, concurrency: 32, timeoutMs: 120_000 })),
  );
  const failed = sum(results.map((r) => r.failed));
  if (failed > 0) throw new Error(`warm-up: ${failed} viewers failed: ${JSON.stringify(mergeCounts(...results.map((r) => r.failures)))}`);
  await Promise.all(workers.map((worker) => worker.release()));
}

/**
 * RSS is read after a full garbage collection, before the viewers and with them: V8 resizes its
 * young generation by tens of MiB with the allocation rate (as much as 19,000 connections take,
 * in either direction), so without it the difference measured the heap's sizing as much as the
 * connections.
 */
async function idleViewers(ctx: Context, server: SocketServerName, target: Target, service: Service, inspectPort: number): Promise<IdleResult> {
  const { config, workers, progress } = ctx;
  await sleep(config.settleMs);
  await collectGarbage(inspectPort);
  const before = sampleProcess(service.pid);
  const perWorker = split(Array.from({ length: config.idleViewers }, (_, i) => i), workers.length).map((slice) => slice.length);
  progress.step(`socket/${server}: opening ${formatInt(config.idleViewers)} idle viewers over ${formatInt(ctx.liveAuctions.length)} auctions`);
  const serverCpu = new CpuMeter([service.pid]);
  const generatorCpu = new CpuMeter(workers.map((w) => w.pid));
  serverCpu.start();
  generatorCpu.start();
  const started = performance.now();
  const stopReporting = progress.every(2_000, () => {
    const opened = sum(workers.map((w) => w.opened));
    const failed = sum(workers.map((w) => w.failed));
    return `socket/${server}:   ${formatInt(opened)} / ${formatInt(config.idleViewers)} open${failed > 0 ? `, ${formatInt(failed)} failed` : ''}`;
  });
  const holds = await Promise.all(
    workers.map((worker, w) =>
      worker.hold({
        target,
        auctions: rotate(ctx.liveAuctions, Math.floor((w * ctx.liveAuctions.length) / workers.length)),
        count: perWorker[w] ?? 0,
        concurrency: config.holdConcurrency,
        timeoutMs: 180_000,
      }),
    ),
  );
  stopReporting();
  const rampSeconds = (performance.now() - started) / 1000;
  const rampServerCpu = cpuUse(serverCpu.stop());
  const rampGeneratorCpu = cpuUse(generatorCpu.stop());
  const held = sum(holds.map((h) => h.opened));
  const failed = sum(holds.map((h) => h.failed));
  progress.step(`socket/${server}: ${formatInt(held)} open in ${rampSeconds.toFixed(1)} s; settling ${config.settleMs / 1000} s`);
  await sleep(config.settleMs);
  await collectGarbage(inspectPort);
  const after = sampleProcess(service.pid);
  const traffic = await Promise.all(workers.map((w) => w.traffic()));
  const rssBeforeBytes = before?.rssBytes ?? Number.NaN;
  const rssAfterBytes = after?.rssBytes ?? Number.NaN;
  const result: IdleResult = {
    target: config.idleViewers,
    held,
    failed,
    failures: mergeCounts(...holds.map((h) => h.failures)),
    rampSeconds,
    rampJoinsPerSecond: held / rampSeconds,
    rssBeforeBytes,
    rssAfterBytes,
    bytesPerConnection: (rssAfterBytes - rssBeforeBytes) / held,
    rampServerCpu,
    rampGeneratorCpu,
    framesReceived: sum(traffic.map((t) => t.frames)),
    joinMs: distribution(...holds.map((h) => h.joinMs)),
  };
  progress.step(
    `socket/${server}: RSS ${(rssBeforeBytes / 2 ** 20).toFixed(1)} → ${(rssAfterBytes / 2 ** 20).toFixed(1)} MiB = ` +
      `${(result.bytesPerConnection / 1024).toFixed(2)} KiB per connection; closing them`,
  );
  const released = await Promise.all(workers.map((w) => w.release(30_000)));
  const forced = sum(released.map((r) => r.forced));
  if (forced > 0) progress.step(`socket/${server}: ${forced} viewers had to be dropped without a close handshake`);
  return result;
}

async function churnWithLatency(
  ctx: Context,
  server: SocketServerName,
  target: Target,
  service: Service,
): Promise<{ churn: ChurnResult; latency: LatencyResult }> {
  const { config, workers, probeWorker, progress } = ctx;
  // The compiled generators, one per load worker's source addresses; each holds its share of
  // the "others", observers on every live auction who hear each join and leave.
  const auctionsFile = join(ctx.runDir, 'live-auctions.txt');
  writeFileSync(auctionsFile, `${ctx.liveAuctions.join('\n')}\n`);
  const started = await Promise.all(
    workers.map((_, w) =>
      GoChurn.start({
        target,
        auctionsFile,
        sourceAddresses: config.sourceAddresses.filter((_address, i) => i % workers.length === w),
        shard: w,
        shards: workers.length,
        observersPerAuction: config.observersPerAuction,
        concurrency: config.churnConcurrency,
        durationMs: config.churnMs,
      }),
    ),
  );
  const generators = started.map((s) => s.generator);
  const observerCount = sum(started.map((s) => s.observers));
  const observersFailed = sum(started.map((s) => s.failed));
  if (observersFailed > 0) progress.step(`socket/${server}: ${formatInt(observersFailed)} observers failed to join`);
  await sleep(1_000);

  progress.step(
    `socket/${server}: churn for ${config.churnMs / 1000} s (${config.churnConcurrency} join/leave loops × ${generators.length} Go generators, ` +
      `${formatInt(observerCount)} observers) with latency probes on ${config.probeAuctions} auctions`,
  );
  const serverCpu = new CpuMeter([service.pid]);
  const generatorCpu = new CpuMeter(generators.map((g) => g.pid));
  const probing = probeWorker.probe({
    target,
    auctions: ctx.probeAuctions,
    observers: config.probeObservers,
    durationMs: config.churnMs - 500,
    probeTimeoutMs: 5_000,
  });
  serverCpu.start();
  generatorCpu.start();
  const churns = await Promise.all(generators.map((g) => g.churn()));
  const serverWindow = serverCpu.stop();
  const generatorWindow = generatorCpu.stop();
  const probes = await probing;
  await Promise.all(generators.map((g) => g.stop(30_000)));

  const seconds = Math.max(...churns.map((c) => c.ms)) / 1000;
  const joins = sum(churns.map((c) => c.joins));
  const churn: ChurnResult = {
    seconds,
    joins,
    failed: sum(churns.map((c) => c.failed)),
    failures: mergeCounts(...churns.map((c) => c.failures)),
    joinsPerSecond: joins / seconds,
    serverCpu: cpuUse(serverWindow),
    generatorCpu: cpuUse(generatorWindow),
    serverCpuSecondsPer1000Joins: (serverWindow.cpuSeconds / joins) * 1000,
    joinMs: distribution(...churns.map((c) => c.joinMs)),
    observers: observerCount,
    observerFrames: sum(churns.map((c) => c.observerFrames)),
    serverBound: serverWindow.cores >= 0.85,
  };
  const latency = latencyOf(probes);
  progress.step(
    `socket/${server}: ${formatInt(churn.joinsPerSecond)} joins/s, server ${(churn.serverCpu.cores * 100).toFixed(0)} % of a core, ` +
      `generators ${(churn.generatorCpu.cores * 100).toFixed(0)} %; join→others p50 ${latency.observerMs.p50.toFixed(1)} ms, ` +
      `p99 ${latency.observerMs.p99.toFixed(1)} ms (${latency.probes} probes)`,
  );
  return { churn, latency };
}

function latencyOf(probes: ProbeResult): LatencyResult {
  return {
    probes: probes.probes,
    timeouts: probes.timeouts,
    setupFailures: probes.setupFailures,
    observerMs: distribution(probes.observerMs),
    allSeenMs: distribution(probes.allSeenMs),
  };
}

/** Joins on auctions with no change in the previous interval, nothing else running: what leading-edge coalescing is for. */
async function quietProbes(ctx: Context, server: SocketServerName, target: Target): Promise<LatencyResult> {
  const { config, probeWorker, progress } = ctx;
  const latency = latencyOf(
    await probeWorker.probe({
      target,
      auctions: ctx.probeAuctions,
      observers: config.probeObservers,
      durationMs: config.quietProbeMs,
      probeTimeoutMs: 5_000,
      quietMs: QUIET_MS,
    }),
  );
  progress.step(
    `socket/${server}: join on a quiet auction → others p50 ${latency.observerMs.p50.toFixed(1)} ms, p99 ${latency.observerMs.p99.toFixed(1)} ms (${latency.probes} probes)`,
  );
  return latency;
}
