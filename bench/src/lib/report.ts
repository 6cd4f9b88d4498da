import type { FlushResult } from '../scenarios/flush.js';
import type { IngestMode, IngestResult, IngestRun } from '../scenarios/ingest.js';
import { dashboardMarkdown, type DashboardResult } from '../scenarios/dashboard.js';
import { insightsMarkdown, type InsightsResult } from '../scenarios/insights.js';
import { soakMarkdown, type SoakResult } from '../scenarios/soak.js';
import { distribution } from './stats.js';
import type { SocketResult } from '../scenarios/socket.js';

export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly mode: string;
  readonly wallSeconds: number;
  readonly command: string;
  readonly machine: {
    readonly cpus: number;
    readonly model: string;
    readonly node: string;
    readonly kernel: string;
    readonly memoryGiB: number;
    readonly openFilesLimit: string;
  };
  readonly database: { readonly kind: string };
  readonly settings: Record<string, unknown>;
  readonly socket: readonly SocketResult[];
  readonly ingest: IngestResult | undefined;
  readonly flush: FlushResult | undefined;
  readonly dashboard: DashboardResult | undefined;
  readonly insights: InsightsResult | undefined;
  readonly soak: SoakResult | undefined;
  readonly notes: readonly string[];
}

type Better = 'higher' | 'lower' | '';

/** "2.31× better" / "1.80× worse": how ours compares, whatever the direction of the metric. */
export function advantage(ours: number, peer: number, better: Better): string {
  if (better === '' || !Number.isFinite(ours) || !Number.isFinite(peer) || ours <= 0 || peer <= 0) return '';
  const ratio = better === 'higher' ? ours / peer : peer / ours;
  if (ratio >= 0.995 && ratio <= 1.005) return 'same';
  return ratio >= 1 ? `**${ratio.toFixed(2)}× better**` : `${(1 / ratio).toFixed(2)}× worse`;
}

const int = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const ms = (value: number): string => (Number.isFinite(value) ? `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms` : 'n/a');
const kib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(2)} KiB` : 'n/a');
const mib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : 'n/a');
const cores = (value: number): string => (Number.isFinite(value) ? `${(value * 100).toFixed(0)} %` : 'n/a');
const secs = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(3)} s` : 'n/a');

interface Row<T> {
  readonly metric: string;
  readonly better: Better;
  readonly value: (result: T) => number;
  readonly show: (result: T) => string;
}

function table<T>(columns: readonly { label: string; result: T }[], rows: readonly Row<T>[]): string[] {
  const [ours, ...peers] = columns;
  if (ours === undefined) return [];
  const header = ['metric', 'better', ...columns.map((c) => c.label), ...peers.map((p) => `ours vs ${p.label}`)];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`];
  for (const row of rows) {
    const cells = [
      row.metric,
      row.better === '' ? '' : row.better === 'higher' ? '↑' : '↓',
      ...columns.map((c) => row.show(c.result)),
      ...peers.map((p) => advantage(row.value(ours.result), row.value(p.result), row.better)),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

function socketTable(results: readonly SocketResult[]): string[] {
  const first = results[0];
  if (first === undefined) return [];
  const rows: Row<SocketResult>[] = [
    { metric: 'idle viewers held (of target)', better: '', value: (r) => r.idle.held, show: (r) => `${int(r.idle.held)} / ${int(r.idle.target)}` },
    { metric: '(1) memory per connection: RSS Δ / viewers', better: 'lower', value: (r) => r.idle.bytesPerConnection, show: (r) => kib(r.idle.bytesPerConnection) },
    { metric: '(1) server RSS before → with the viewers', better: 'lower', value: (r) => r.idle.rssAfterBytes, show: (r) => `${mib(r.idle.rssBeforeBytes)} → ${mib(r.idle.rssAfterBytes)}` },
    { metric: '(1) surge: viewers opened per second', better: 'higher', value: (r) => r.idle.rampJoinsPerSecond, show: (r) => int(r.idle.rampJoinsPerSecond) },
    { metric: '(1) surge: server CPU (avg)', better: '', value: (r) => r.idle.rampServerCpu.cores, show: (r) => cores(r.idle.rampServerCpu.cores) },
    { metric: '(2) churn: joins per second (each with its leave)', better: 'higher', value: (r) => r.churn.joinsPerSecond, show: (r) => int(r.churn.joinsPerSecond) },
    {
      metric: '(2) churn: server CPU-seconds per 1,000 joins',
      better: 'lower',
      value: (r) => r.churn.serverCpuSecondsPer1000Joins,
      show: (r) => secs(r.churn.serverCpuSecondsPer1000Joins),
    },
    {
      metric: '(2) churn: joins per second per busy core (1,000 ÷ the row above)',
      better: 'higher',
      value: (r) => 1000 / r.churn.serverCpuSecondsPer1000Joins,
      show: (r) => int(1000 / r.churn.serverCpuSecondsPer1000Joins),
    },
    {
      metric: '(2) churn: server CPU avg / peak (100 % = 1 core)',
      better: '',
      value: (r) => r.churn.serverCpu.cores,
      show: (r) => `${cores(r.churn.serverCpu.cores)} / ${cores(r.churn.serverCpu.peakCores)}`,
    },
    { metric: '(2) churn: load generators CPU avg (all workers)', better: '', value: (r) => r.churn.generatorCpu.cores, show: (r) => cores(r.churn.generatorCpu.cores) },
    { metric: '(2) churn: join handshake p50 (connect → own count)', better: 'lower', value: (r) => r.churn.joinMs.p50, show: (r) => ms(r.churn.joinMs.p50) },
    { metric: '(2) churn: join handshake p99', better: 'lower', value: (r) => r.churn.joinMs.p99, show: (r) => ms(r.churn.joinMs.p99) },
    { metric: '(3) join → other viewers see the count, p50', better: 'lower', value: (r) => r.latency.observerMs.p50, show: (r) => ms(r.latency.observerMs.p50) },
    { metric: '(3) join → other viewers see the count, p99', better: 'lower', value: (r) => r.latency.observerMs.p99, show: (r) => ms(r.latency.observerMs.p99) },
    { metric: '(3) join → all other viewers saw it, p99', better: 'lower', value: (r) => r.latency.allSeenMs.p99, show: (r) => ms(r.latency.allSeenMs.p99) },
    { metric: '(3) probes (timeouts)', better: '', value: (r) => r.latency.probes, show: (r) => `${int(r.latency.probes)} (${r.latency.timeouts})` },
    { metric: '(3q) join on a quiet auction → other viewers, p50', better: 'lower', value: (r) => r.quietLatency.observerMs.p50, show: (r) => ms(r.quietLatency.observerMs.p50) },
    { metric: '(3q) join on a quiet auction → other viewers, p99', better: 'lower', value: (r) => r.quietLatency.observerMs.p99, show: (r) => ms(r.quietLatency.observerMs.p99) },
    { metric: '(3q) quiet probes (timeouts)', better: '', value: (r) => r.quietLatency.probes, show: (r) => `${int(r.quietLatency.probes)} (${r.quietLatency.timeouts})` },
  ];
  return table(
    results.map((r) => ({ label: r.label, result: r })),
    rows,
  );
}

function ingestTable(result: IngestResult): string[] {
  const find = (implementation: 'ours' | 'express', mode: IngestMode): IngestRun | undefined =>
    result.runs.find((r) => r.implementation === implementation && r.mode === mode);
  const lines: string[] = [];
  const rowsFor = (mode: IngestMode): Row<IngestRun>[] => {
    const tag = mode === 'single' ? '(4) single' : `(4) batch of ${int(result.batchSize)}`;
    return [
      { metric: `${tag}: snapshots stored per second`, better: 'higher', value: (r) => r.storedPerSecond, show: (r) => int(r.storedPerSecond) },
      { metric: `${tag}: request latency p50`, better: 'lower', value: (r) => r.latencyMs.p50, show: (r) => ms(r.latencyMs.p50) },
      { metric: `${tag}: request latency p99`, better: 'lower', value: (r) => r.latencyMs.p99, show: (r) => ms(r.latencyMs.p99) },
      {
        metric: `${tag}: server CPU-seconds per 1,000 stored`,
        better: 'lower',
        value: (r) => r.serverCpuSecondsPer1000Stored,
        show: (r) => secs(r.serverCpuSecondsPer1000Stored),
      },
      {
        metric: `${tag}: server / database CPU avg`,
        better: '',
        value: (r) => r.serverCpu.cores,
        show: (r) => `${cores(r.serverCpu.cores)} / ${r.databaseCpu === undefined ? 'n/a' : cores(r.databaseCpu.cores)}`,
      },
      { metric: `${tag}: requests (errors)`, better: '', value: (r) => r.requests, show: (r) => `${int(r.requests)} (${r.errors})` },
    ];
  };
  for (const mode of ['single', 'batch'] as const) {
    const ours = find('ours', mode);
    const express = find('express', mode);
    if (ours === undefined || express === undefined) continue;
    const block = table(
      [
        { label: 'ours (Fastify)', result: ours },
        { label: 'Express + Mongoose', result: express },
      ],
      rowsFor(mode),
    );
    lines.push(...(lines.length === 0 ? block : block.slice(2)));
  }
  return lines;
}

function flushTable(result: FlushResult): string[] {
  const lines = [
    '| (5) flush via | window | auctions | batch requests | stored (in database) | stored after window end | bar: ≤ 2 s and 2 requests |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  const via = (kind: FlushResult['windows'][number]['via']): string => (kind === 'e2e' ? 'socket server process (real viewers)' : 'socket server modules');
  for (const w of result.windows) {
    const pass = w.withinBar && w.batchRequests === 2;
    lines.push(
      `| ${via(w.via)} | ${w.windowStart} | ${int(w.auctions)} | ` +
        `${w.batchRequests} | ${int(w.stored)} (${int(w.documentsInDatabase)}) | ${ms(w.storedAfterMs)} | ${pass ? 'pass' : '**fail**'} |`,
    );
  }
  // The bar is the median window, each storing every snapshot in two requests.
  for (const kind of ['modules', 'e2e'] as const) {
    const windows = result.windows.filter((w) => w.via === kind);
    if (windows.length < 3) continue;
    const median = distribution(Float64Array.from(windows, (w) => w.storedAfterMs)).p50;
    const pass = median <= result.barMs && windows.every((w) => w.batchRequests === 2 && w.stored === w.auctions);
    lines.push(`| ${via(kind)}: **median of ${String(windows.length)}** | | | | | ${ms(median)} | ${pass ? 'pass' : '**fail**'} |`);
  }
  return lines;
}

export function markdownReport(results: BenchResults): string {
  const out: string[] = [];
  out.push(
    `Run ${results.startedAt}, ${results.mode} mode, ${results.wallSeconds.toFixed(0)} s wall; ${results.machine.cpus} × ${results.machine.model}, ` +
      `Node ${results.machine.node}, database: ${results.database.kind}. Generators and servers share these cores: compare ratios within this run.`,
  );
  if (results.socket.length > 0) {
    out.push('', `#### Live feed: ${int(results.socket[0]?.idle.target ?? 0)} idle viewers over 1,000 auctions, then churn with latency probes`, '');
    out.push(...socketTable(results.socket));
    const problems = results.socket.filter((r) => (r.conformance ?? []).length > 0);
    for (const r of problems) out.push('', `Protocol problems of ${r.label}: ${(r.conformance ?? []).join('; ')}`);
  }
  if (results.ingest !== undefined) {
    out.push('', `#### Snapshot ingest on the same database (${int(results.ingest.auctions)} auctions)`, '');
    out.push(...ingestTable(results.ingest));
    const d = results.ingest.diagnostics;
    out.push(
      '',
      `Database alone, ${int(d.auctions)} auctions: find({_id: {$in: [one id]}}) ${ms(d.findInOneMs)}; find({_id: id}) ${ms(d.findEqualMs)}; ` +
        `findOne({_id: id}) ${ms(d.findOneMs)}` +
        (d.findInBatchMs === undefined ? '.' : `; find({_id: {$in: [${int(d.batchIds)} ids]}}) ${ms(d.findInBatchMs)}.`),
    );
  }
  if (results.flush !== undefined) {
    out.push('', `#### Flush of ${int(results.flush.auctions)} auctions: socket server → backend → database`, '');
    out.push(...flushTable(results.flush));
    const d = results.flush.diagnostics;
    out.push(
      '',
      `Database alone, ${int(d.auctions)} auctions: a batch's auction query, find({_id: {$in: [${int(d.batchIds)} ids]}}), ` +
        `${d.findInBatchMs === undefined ? 'n/a' : ms(d.findInBatchMs)}; insertMany of ${int(d.insertManyCount)} snapshots ${ms(d.insertManyMs)}; ` +
        `findOne({_id: id}) ${ms(d.findOneMs)}.`,
    );
  }
  if (results.dashboard !== undefined) out.push('', ...dashboardMarkdown(results.dashboard));
  if (results.insights !== undefined) out.push('', ...insightsMarkdown(results.insights));
  if (results.soak !== undefined) out.push('', ...soakMarkdown(results.soak));
  if (results.notes.length > 0) out.push('', ...results.notes.map((note) => `- ${note}`));
  return out.join('\n');
}
