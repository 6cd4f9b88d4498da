/**
 * Real processes: K socket processes on one port through a real Redis, a backend and a database,
 * and as many viewers as the file limits allow (about 18,000 per socket process at most), over
 * 500 (short) or 1,000 auctions. Measures each socket process's RSS and memory per connection,
 * the join → update latency across processes (cross-probe.ts), and Redis's CPU, commands and
 * bytes while the viewers open, while they sit, and during a light join/leave churn.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterBenchConfig } from '../cluster/config.js';
import { CrossProcessProbe, type CrossProbeResult } from '../cluster/cross-probe.js';
import { PhaseMeter, type PhaseLoad } from '../cluster/phase-meter.js';
import { connectionsPerProcess, rssAfterCollection } from '../cluster/socket-state.js';
import { KEY_PREFIX, startClusterStack } from '../cluster/stack.js';
import { onCleanup } from '../lib/cleanup.js';
import { newAuctionIds } from '../lib/database.js';
import { sampleProcess } from '../lib/proc.js';
import { formatInt, type Progress } from '../lib/progress.js';
import { RespClient } from '../lib/resp.js';
import { distribution, mergeCounts, sum, type Distribution } from '../lib/stats.js';
import { LoadWorker, split } from '../load/pool.js';
import type { Target } from '../load/raw-viewer.js';
import { rotate } from './context.js';

export interface SocketProcessFigures {
  readonly processId: string;
  readonly pid: number;
  /** Its viewers, as its hash in Redis counts them. */
  readonly connections: number;
  /** RSS after a full garbage collection, before the viewers and with them. */
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly bytesPerConnection: number;
  /** The same without the collection (as the process ran). */
  readonly rawRssBeforeBytes: number;
  readonly rawRssAfterBytes: number;
}

export interface LatencyFigures {
  readonly probes: number;
  readonly timeouts: number;
  readonly unlocated: number;
  readonly cross: Distribution;
  readonly allCross: Distribution;
  readonly same: Distribution;
  readonly join: Distribution;
  readonly observersPerProcess: readonly number[];
}

export interface ClusterProcessesResult {
  readonly databaseKind: string;
  readonly redisVersion: string;
  readonly socketProcesses: number;
  readonly loadWorkers: number;
  readonly auctions: number;
  readonly viewersTarget: number;
  readonly viewersHeld: number;
  readonly viewersFailed: number;
  readonly failures: Record<string, number>;
  /** Sum of every process's hash: what the cluster itself counts. */
  readonly viewersInRedis: number;
  readonly rampSeconds: number;
  readonly processes: readonly SocketProcessFigures[];
  /** Σ RSS Δ / Σ connections over the socket processes. */
  readonly bytesPerConnection: number;
  readonly phases: readonly PhaseLoad[];
  readonly idleLatency: LatencyFigures;
  readonly churnLatency: LatencyFigures;
  readonly churnJoinsPerSecond: number;
  readonly churnFailed: number;
}

function latency(result: CrossProbeResult): LatencyFigures {
  return {
    probes: result.probes,
    timeouts: result.timeouts,
    unlocated: result.unlocated,
    cross: distribution(result.crossMs),
    allCross: distribution(result.allCrossMs),
    same: distribution(result.sameMs),
    join: distribution(result.joinMs),
    observersPerProcess: result.observersPerProcess,
  };
}

export async function runClusterProcesses(config: ClusterBenchConfig, runDir: string, progress: Progress): Promise<ClusterProcessesResult> {
  const liveAuctions = newAuctionIds(config.liveAuctions);
  const probeAuctions = newAuctionIds(config.probeAuctions);
  const stack = await startClusterStack({
    runDir,
    progress,
    auctions: [...liveAuctions, ...probeAuctions],
    socketProcesses: config.socketProcesses,
    maxConnections: config.maxConnectionsPerProcess,
    broadcastIntervalMs: config.broadcastIntervalMs,
  });
  const workers = Array.from(
    { length: config.loadWorkers },
    (_, w) =>
      new LoadWorker(
        `load-${w}`,
        config.sourceAddresses.filter((_, i) => i % config.loadWorkers === w),
      ),
  );
  const unregisterWorkers = onCleanup('load workers', () => {
    for (const worker of workers) worker.stop();
  });
  const admin = await RespClient.connect(stack.redis.port);
  const probeRedis = await RespClient.connect(stack.redis.port);
  const target: Target = { kind: 'plain', host: '127.0.0.1', port: stack.port };
  const processIds = stack.sockets.map((socket) => socket.processId);
  const probe = new CrossProcessProbe({
    target,
    auctions: probeAuctions,
    processIds,
    redis: probeRedis,
    prefix: KEY_PREFIX,
    sourceAddress: config.probeSourceAddress,
    probeTimeoutMs: 5_000,
  });
  try {
    // Warm-up: several viewers per auction, so that every process looks every auction up (cached
    // for the run) and the JIT is warm before anything is measured.
    const warmAuctions = [...liveAuctions, ...probeAuctions];
    progress.step(`warm-up: ${config.warmUpViewersPerAuction} viewers per auction (${formatInt(warmAuctions.length * config.warmUpViewersPerAuction)}), then all leave`);
    const slices = split(warmAuctions, workers.length);
    const warm = await Promise.all(
      workers.map((worker, w) => {
        const auctions = slices[w] ?? [];
        return worker.hold({ target, auctions, count: auctions.length * config.warmUpViewersPerAuction, concurrency: 32, timeoutMs: 180_000 });
      }),
    );
    const warmFailed = sum(warm.map((r) => r.failed));
    if (warmFailed > 0) progress.step(`warm-up: ${warmFailed} viewers failed: ${JSON.stringify(mergeCounts(...warm.map((r) => r.failures)))}`);
    await Promise.all(workers.map((worker) => worker.release(30_000)));
    await sleep(config.settleMs);
    const rawBefore = stack.sockets.map((socket) => sampleProcess(socket.service.pid)?.rssBytes ?? Number.NaN);
    const before = await rssAfterCollection(stack);
    progress.step(`opening ${formatInt(config.viewers)} viewers over ${formatInt(liveAuctions.length)} auctions (${workers.length} load processes)`);
    const rampMeter = new PhaseMeter('viewers opening', admin, stack, workers);
    await rampMeter.start();
    const started = performance.now();
    const stopReporting = progress.every(3_000, () => `  ${formatInt(sum(workers.map((w) => w.opened)))} / ${formatInt(config.viewers)} open, ${formatInt(sum(workers.map((w) => w.failed)))} failed`);
    const perWorker = split(Array.from({ length: config.viewers }, (_, i) => i), workers.length).map((slice) => slice.length);
    const holds = await Promise.all(
      workers.map((worker, w) =>
        worker.hold({
          target,
          auctions: rotate(liveAuctions, Math.floor((w * liveAuctions.length) / workers.length)),
          count: perWorker[w] ?? 0,
          concurrency: config.holdConcurrency,
          timeoutMs: 300_000,
        }),
      ),
    );
    stopReporting();
    const rampSeconds = (performance.now() - started) / 1000;
    const ramp = await rampMeter.stop();
    const held = sum(holds.map((h) => h.opened));
    progress.step(`${formatInt(held)} viewers open in ${rampSeconds.toFixed(1)} s; settling ${config.settleMs / 1000} s`);
    await sleep(config.settleMs);
    const rawAfter = stack.sockets.map((socket) => sampleProcess(socket.service.pid)?.rssBytes ?? Number.NaN);
    const after = await rssAfterCollection(stack);
    const connections = await connectionsPerProcess(admin, stack);
    const processes = stack.sockets.map((socket, i): SocketProcessFigures => {
      const rssBeforeBytes = before[i] ?? Number.NaN;
      const rssAfterBytes = after[i] ?? Number.NaN;
      const n = connections[i] ?? 0;
      return {
        processId: socket.processId,
        pid: socket.service.pid,
        connections: n,
        rssBeforeBytes,
        rssAfterBytes,
        bytesPerConnection: (rssAfterBytes - rssBeforeBytes) / n,
        rawRssBeforeBytes: rawBefore[i] ?? Number.NaN,
        rawRssAfterBytes: rawAfter[i] ?? Number.NaN,
      };
    });
    const bytesPerConnection = sum(processes.map((p) => p.rssAfterBytes - p.rssBeforeBytes)) / sum(connections);
    progress.step(
      `per process: ${processes.map((p) => `${formatInt(p.connections)} viewers, ${(p.rssAfterBytes / 2 ** 20).toFixed(0)} MiB`).join('; ')}; ` +
        `${(bytesPerConnection / 1024).toFixed(2)} KiB per connection`,
    );

    progress.step(`probes: placing observers on ${probeAuctions.length} probe auctions until every process holds one of each`);
    const uncovered = await probe.setUp(6 * config.socketProcesses);
    if (uncovered > 0) progress.step(`probes: ${uncovered} auctions lack an observer on some process (their probes count fewer cross samples)`);

    progress.step(`idle: ${formatInt(held)} viewers sit, probes run for ${config.probeIdleMs / 1000} s`);
    const idleMeter = new PhaseMeter('viewers sit, probes run', admin, stack, workers);
    await idleMeter.start();
    const idleProbe = await probe.run(config.probeIdleMs);
    const idle = await idleMeter.stop();
    const idleLatency = latency(idleProbe);
    progress.step(`idle: cross-process p50 ${idleLatency.cross.p50.toFixed(1)} ms, p99 ${idleLatency.cross.p99.toFixed(1)} ms (${idleLatency.probes} probes)`);

    progress.step(`churn: ${config.churnConcurrency} join/leave loops × ${workers.length} load processes for ${config.churnMs / 1000} s, probes running`);
    const churnMeter = new PhaseMeter('join/leave churn, probes run', admin, stack, workers);
    await churnMeter.start();
    const probing = probe.run(config.churnMs - 500);
    const churns = await Promise.all(
      workers.map((worker) => worker.churn({ target, auctions: liveAuctions, concurrency: config.churnConcurrency, durationMs: config.churnMs })),
    );
    const churnProbe = await probing;
    const churn = await churnMeter.stop();
    const churnLatency = latency(churnProbe);
    const churnJoins = sum(churns.map((c) => c.joins));
    const churnJoinsPerSecond = churnJoins / (Math.max(...churns.map((c) => c.ms)) / 1000);
    progress.step(
      `churn: ${formatInt(churnJoinsPerSecond)} joins/s; cross-process p50 ${churnLatency.cross.p50.toFixed(1)} ms, ` +
        `p99 ${churnLatency.cross.p99.toFixed(1)} ms (${churnLatency.probes} probes); Redis ${(churn.redis.cpuCores * 100).toFixed(1)} % of a core`,
    );
    return {
      databaseKind: stack.databaseKind,
      redisVersion: stack.redis.version,
      socketProcesses: stack.sockets.length,
      loadWorkers: workers.length,
      auctions: liveAuctions.length,
      viewersTarget: config.viewers,
      viewersHeld: held,
      viewersFailed: sum(holds.map((h) => h.failed)),
      failures: mergeCounts(...holds.map((h) => h.failures)),
      viewersInRedis: sum(connections),
      rampSeconds,
      processes,
      bytesPerConnection,
      phases: [ramp, idle, churn],
      idleLatency,
      churnLatency,
      churnJoinsPerSecond,
      churnFailed: sum(churns.map((c) => c.failed)),
    };
  } finally {
    // The load processes exit and the kernel closes their connections: quicker than 50,000 close
    // handshakes, and nothing is measured any more.
    progress.step('stopping the load processes, then the cluster');
    await probe.close().catch(() => undefined);
    for (const worker of workers) worker.stop();
    unregisterWorkers();
    admin.close();
    probeRedis.close();
    await stack.stop();
    progress.step('cluster stopped');
  }
}
