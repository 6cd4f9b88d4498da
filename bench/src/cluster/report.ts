/** Markdown tables of `pnpm bench:cluster`. */
import type { ClusterProcessesResult, LatencyFigures } from '../scenarios/cluster-processes.js';
import type { PhaseLoad } from './phase-meter.js';
import type { SimResult } from '../scenarios/cluster-sim.js';
import type { RedisLoad } from '../lib/redis-meter.js';
import type { Distribution } from '../lib/stats.js';
import { costModel, project, type CostModel } from './extrapolate.js';

export interface ClusterBenchResults {
  readonly startedAt: string;
  readonly mode: string;
  readonly wallSeconds: number;
  readonly machine: { readonly cpus: number; readonly model: string; readonly node: string; readonly loadAverageAtStart: readonly number[]; readonly loadAverageAtEnd: readonly number[] };
  readonly settings: Record<string, unknown>;
  readonly processes: ClusterProcessesResult | undefined;
  readonly simulation: readonly SimResult[];
  readonly model: CostModel | undefined;
}

const int = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const ms = (value: number): string => (Number.isFinite(value) ? `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms` : 'n/a');
const mib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : 'n/a');
const kib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(2)} KiB` : 'n/a');
const pct = (cores: number): string => (Number.isFinite(cores) ? `${(cores * 100).toFixed(cores < 0.1 ? 1 : 0)} %` : 'n/a');
const rate = (bytesPerSecond: number): string => {
  if (!Number.isFinite(bytesPerSecond)) return 'n/a';
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(2)} MB/s`;
  return `${(bytesPerSecond / 1e3).toFixed(1)} kB/s`;
};
const p50p99 = (d: Distribution): string => `${ms(d.p50)} / ${ms(d.p99)}`;

function topCommands(load: RedisLoad, n = 5): string {
  return load.commands
    .slice(0, n)
    .map((c) => `${c.command} ${int(c.perSecond)}`)
    .join(', ');
}

function processesTables(r: ClusterProcessesResult): string[] {
  const out: string[] = [];
  out.push(
    `#### Real processes: ${r.socketProcesses} socket processes on one port through Redis ${r.redisVersion}, ${int(r.viewersHeld)} viewers`,
    '',
    `${int(r.viewersHeld)} of ${int(r.viewersTarget)} viewers held (${int(r.viewersFailed)} failed; the processes' hashes in Redis count ${int(r.viewersInRedis)}) ` +
      `over ${int(r.auctions)} auctions, opened in ${r.rampSeconds.toFixed(1)} s (${int(r.viewersHeld / r.rampSeconds)} per second) by ${r.loadWorkers} load processes; database ${r.databaseKind}.`,
    '',
    '| socket process | viewers | RSS before → with the viewers (each after a full GC) | memory per connection (RSS Δ / viewers) | RSS as it ran (no GC), before → with |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  for (const p of r.processes) {
    out.push(
      `| ${p.processId} (pid ${p.pid}) | ${int(p.connections)} | ${mib(p.rssBeforeBytes)} → ${mib(p.rssAfterBytes)} | ${kib(p.bytesPerConnection)} | ` +
        `${mib(p.rawRssBeforeBytes)} → ${mib(p.rawRssAfterBytes)} |`,
    );
  }
  const total = r.processes.reduce((acc, p) => acc + p.connections, 0);
  out.push(`| all | ${int(total)} |  | ${kib(r.bytesPerConnection)} |  |`, '');

  out.push(
    '| join → update (t0 before the joiner\'s TCP connect) | probes (timeouts) | cross-process p50 / p99 | slowest cross-process observer p99 | same-process p50 / p99 | joiner\'s own count p99 | bar: cross p99 ≤ 300 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  const row = (label: string, l: LatencyFigures): string =>
    `| ${label} | ${int(l.probes)} (${l.timeouts}${l.unlocated > 0 ? `, ${l.unlocated} unlocated` : ''}) | ${p50p99(l.cross)} (n=${int(l.cross.n)}) | ` +
    `${ms(l.allCross.p99)} | ${p50p99(l.same)} (n=${int(l.same.n)}) | ${ms(l.join.p99)} | ${l.cross.p99 <= 300 ? 'pass' : '**fail**'} |`;
  out.push(row('viewers sitting', r.idleLatency), row(`join/leave churn (${int(r.churnJoinsPerSecond)} joins/s)`, r.churnLatency), '');

  out.push(
    '| phase | Redis CPU | Redis commands/s (cluster only) | instantaneous_ops_per_sec | busiest commands /s | Redis in / out | socket processes CPU (sum; each) | load processes CPU | backend + database / runner (probes) CPU | whole machine busy |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const phase of r.phases) out.push(phaseRow(phase));
  return out;
}

function phaseRow(phase: PhaseLoad): string {
  const l = phase.redis;
  return (
    `| ${phase.name} (${phase.seconds.toFixed(0)} s) | ${pct(l.cpuCores)} | ${int(phase.clusterCommandsPerSecond)} | ${int(l.instantaneousOpsPerSecond)} | ${topCommands(l)} | ` +
    `${rate(l.bytesInPerSecond)} / ${rate(l.bytesOutPerSecond)} | ${pct(phase.socketCores)}; ${phase.socketCoresPerProcess.map(pct).join(', ')} | ${pct(phase.generatorCores)} | ${pct(phase.backendDatabaseCores)} / ${pct(phase.runnerCores)} | ${pct(phase.machineCores)} |`
  );
}

function simulationTables(runs: readonly SimResult[], model: CostModel | undefined): string[] {
  const first = runs[0];
  if (first === undefined) return [];
  const out: string[] = [
    `#### Simulation: ${int(first.auctions)} auctions, ${int(first.changesPerTick)} count changes per ${first.intervalMs} ms tick over the cluster, against a local redis-server`,
    '',
    '| simulated processes | pairs per message | message | messages/s published | Redis commands/s | Redis CPU | Redis in | Redis out | delivered messages/s | EXEC round trip p50 / p99 | written → heard p50 / p99 | marks skipped (write in flight) | tick timer late p99 | simulator CPU |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of runs) {
    out.push(
      `| ${r.processes} | ${r.pairsPerMessage.toFixed(1)} | ${int(r.messageBytes)} B | ${int(r.publishedPerSecond)} | ${int(r.redis.commandsPerSecond)} | ${pct(r.redis.cpuCores)} | ` +
        `${rate(r.redis.bytesInPerSecond)} | ${rate(r.redis.bytesOutPerSecond)} | ${int(r.deliveredPerSecond)} | ${p50p99(r.execMs)} | ${p50p99(r.fanOutMs)} | ` +
        `${int(r.skippedMarks)}${r.failedWrites > 0 ? ` (${r.failedWrites} failed)` : ''} | ${ms(r.tickLateMs.p99)} | ${pct(r.simulatorCores)} |`,
    );
  }
  if (model === undefined || runs.length < 2) return out;
  out.push(
    '',
    `Extrapolated (fitted over the runs above: Redis CPU ${pct(model.cpuBase)} + ` +
      `${(model.cpuPerDelivery * 1e6).toFixed(2)} µs per delivered message; in ${model.inPerPublish.toFixed(0)} B per message + ` +
      `${model.inPerPair.toFixed(1)} B per pair; out ${model.outPerPublish.toFixed(0)} B per message + ${model.outPerDelivery.toFixed(0)} B framing per delivery + the payload), ` +
      `1M viewers over 100,000 auctions with ${int(first.changesPerTick)} changes per tick:`,
    '',
    '| processes (viewers each) | messages/s | message | delivered messages/s | Redis CPU | Redis in | Redis out | measured here |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const processes of [50, 100, 200, 400]) {
    const p = project(model, processes, first.changesPerTick, first.intervalMs, runs);
    const measured = p.measured === undefined ? '' : `${pct(p.measured.redis.cpuCores)}, in ${rate(p.measured.redis.bytesInPerSecond)}, out ${rate(p.measured.redis.bytesOutPerSecond)}`;
    out.push(
      `| ${processes} (${int(1_000_000 / processes)}) | ${int(p.publishedPerSecond)} | ${int(p.messageBytes)} B | ${int(p.deliveredPerSecond)} | ${pct(p.redisCores)} | ` +
        `${rate(p.bytesInPerSecond)} | ${rate(p.bytesOutPerSecond)} | ${measured} |`,
    );
  }
  return out;
}

export function clusterMarkdown(results: ClusterBenchResults): string {
  const m = results.machine;
  const out: string[] = [
    `Run ${results.startedAt}, ${results.mode} mode, ${results.wallSeconds.toFixed(0)} s wall; ${m.cpus} × ${m.model}, Node ${m.node}; ` +
      `load average ${m.loadAverageAtStart.map((v) => v.toFixed(2)).join(' ')} at start, ${m.loadAverageAtEnd.map((v) => v.toFixed(2)).join(' ')} at end. ` +
      'Servers, Redis and load generators share these cores.',
  ];
  if (results.processes !== undefined) out.push('', ...processesTables(results.processes));
  if (results.simulation.length > 0) out.push('', ...simulationTables(results.simulation, results.model));
  return out.join('\n');
}

export function modelOf(runs: readonly SimResult[]): CostModel | undefined {
  return runs.length >= 2 ? costModel(runs) : undefined;
}
