/**
 * `pnpm bench` (full) or `pnpm bench --short` (under five minutes on 2 cores): our socket server
 * and backend beside reference peers, same load generator, same run. Writes
 * bench/results/<timestamp>.json (+ .md) and prints the Markdown tables. See bench/README.md.
 *
 * Options: --short | BENCH_MODE=short; --only=conformance,socket,ingest,flush,dashboard,insights,soak | BENCH_ONLY;
 * --servers=ours,ws,socketio | BENCH_SERVERS; BENCH_WORKERS (load processes, default 2);
 * BENCH_IDLE_VIEWERS (default 19,000); BENCH_SOAK_CHURN (the soak's joins per second, default 200).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { REPO_ROOT, startDatabase, type Database } from '@viewer-analytics/devdb';
import { loadBenchConfig } from './config.js';
import { MongoClient, newAuctionIds, seedAuctions } from './lib/database.js';
import { childPidsNamed } from './lib/proc.js';
import { killAllServices } from './lib/processes.js';
import { Progress } from './lib/progress.js';
import { runToExit, writeResults } from './lib/results.js';
import { markdownReport, type BenchResults } from './lib/report.js';
import { buildLoadgen } from './load/go-loadgen.js';
import { LoadWorker } from './load/pool.js';
import type { Context } from './scenarios/context.js';
import { runDashboardSuite, type DashboardResult } from './scenarios/dashboard.js';
import { runFlushSuite, type FlushResult } from './scenarios/flush.js';
import { runIngestSuite, type IngestResult } from './scenarios/ingest.js';
import { runInsightsSuite, type InsightsResult } from './scenarios/insights.js';
import { runSocketSuite, type SocketResult } from './scenarios/socket.js';
import { runSoakSuite, soakSvg, type SoakResult } from './scenarios/soak.js';

const config = loadBenchConfig(process.argv.slice(2), process.env);
const progress = new Progress();
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const resultsDir = join(REPO_ROOT, 'bench', 'results');
const runDir = join(resultsDir, stamp);
mkdirSync(runDir, { recursive: true });

for (const entry of ['services/socket/dist/main.js', 'services/backend/dist/server.js', 'bench/dist/peers/ws-server.js']) {
  if (!existsSync(join(REPO_ROOT, entry))) {
    process.stderr.write(`${entry} is missing: build first (pnpm exec tsc -b), or run through \`pnpm bench\`.\n`);
    process.exit(1);
  }
}

const workers: LoadWorker[] = [];
let database: Database | undefined;
let mongo: MongoClient | undefined;

async function cleanUp(): Promise<void> {
  for (const worker of workers) worker.stop();
  killAllServices();
  await mongo?.close().catch(() => undefined);
  await database?.stop().catch(() => undefined);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress.step(`${signal}: stopping every process this run started`);
    void cleanUp().finally(() => process.exit(130));
  });
}

function openFilesLimit(): string {
  try {
    return execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  progress.step(
    `bench, ${config.mode} mode: suites ${[...config.suites].join(', ')}; socket servers ${config.servers.join(', ')}; ` +
      `${config.workers} load processes + 1 probe process; logs in ${runDir}`,
  );
  if (config.suites.has('socket')) {
    progress.step('building the churn generator (bench/loadgen, Go)');
    await buildLoadgen();
  }
  database = await startDatabase({
    log: (message) => {
      progress.step(`database: ${message}`);
    },
  });
  const databasePids = database.kind === 'ferretdb' ? childPidsNamed('ferretdb') : [];
  mongo = new MongoClient(database.uri);
  await mongo.connect();

  const addresses = config.sourceAddresses;
  for (let w = 0; w < config.workers; w++) {
    workers.push(new LoadWorker(`load-${w}`, addresses.filter((_, i) => i % config.workers === w)));
  }
  const probeWorker = new LoadWorker('probe', addresses);
  workers.push(probeWorker);
  const loadWorkers = workers.slice(0, config.workers);

  const liveAuctions = newAuctionIds(config.liveAuctions);
  const probeAuctions = newAuctionIds(config.probeAuctions);
  const knownAuctionsFile = join(runDir, 'known-auctions.txt');
  writeFileSync(knownAuctionsFile, `${[...liveAuctions, ...probeAuctions].join('\n')}\n`);
  const ctx: Context = {
    config,
    progress,
    runDir,
    mongo,
    databaseUri: database.uri,
    databasePids,
    internalKey: randomBytes(24).toString('hex'),
    jwtSecret: randomBytes(24).toString('hex'),
    workers: loadWorkers,
    probeWorker,
    liveDatabase: 'bench_live',
    liveAuctions,
    probeAuctions,
    knownAuctionsFile,
  };

  const socket: SocketResult[] = [];
  let ingest: IngestResult | undefined;
  let flush: FlushResult | undefined;
  if (config.suites.has('socket')) {
    await seedAuctions(mongo, ctx.liveDatabase, [...liveAuctions, ...probeAuctions]);
    for (const server of config.servers) socket.push(await runSocketSuite(ctx, server));
  }
  if (config.suites.has('ingest')) ingest = await runIngestSuite(ctx, newAuctionIds(config.ingestAuctions));
  if (config.suites.has('flush')) flush = await runFlushSuite(ctx, newAuctionIds(config.flushAuctions));
  let dashboard: DashboardResult | undefined;
  if (config.suites.has('dashboard')) dashboard = await runDashboardSuite(ctx);
  let insights: InsightsResult | undefined;
  if (config.suites.has('insights')) insights = await runInsightsSuite(ctx);
  let soak: SoakResult | undefined;
  if (config.suites.has('soak')) soak = await runSoakSuite(ctx, newAuctionIds(config.liveAuctions));

  const notes: string[] = [];
  for (const r of socket) {
    if (!r.churn.serverBound) {
      notes.push(
        `${r.label}: during the churn the server averaged ${(r.churn.serverCpu.cores * 100).toFixed(0)} % of a core (load generators ` +
          `${(r.churn.generatorCpu.cores * 100).toFixed(0)} %): it was not saturated, so its joins/s is a lower bound set by the ` +
          'generators sharing the 2 cores.',
      );
    }
    if (r.idle.failed > 0) notes.push(`${r.label}: ${r.idle.failed} idle viewers failed: ${JSON.stringify(r.idle.failures)}`);
    if (r.churn.failed > 0) notes.push(`${r.label}: ${r.churn.failed} churn joins failed: ${JSON.stringify(r.churn.failures)}`);
  }
  for (const run of ingest?.runs ?? []) {
    if (run.errors > 0) notes.push(`ingest ${run.mode} ${run.implementation}: ${run.errors} errors, first: ${run.firstError ?? ''}`);
  }

  const finishedAt = new Date();
  const cpuList = cpus();
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    mode: config.mode,
    wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    command: process.argv.slice(2).join(' '),
    machine: {
      cpus: cpuList.length,
      model: cpuList[0]?.model.trim() ?? 'unknown',
      node: process.version,
      kernel: release(),
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      openFilesLimit: openFilesLimit(),
    },
    database: { kind: database.kind === 'ferretdb' ? 'FerretDB 1.24.2 (SQLite), started by tools/devdb' : database.kind },
    settings: { ...config, suites: [...config.suites] },
    socket,
    ingest,
    flush,
    dashboard,
    insights,
    soak,
    notes,
  };
  if (soak !== undefined) {
    const plot = join(resultsDir, `${stamp}-soak.svg`);
    writeFileSync(plot, soakSvg(soak, results.startedAt));
    progress.step(`soak plot: ${plot}`);
  }
  writeResults(resultsDir, stamp, results, markdownReport(results), progress);
}

await runToExit('bench', main, cleanUp);
