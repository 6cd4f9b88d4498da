/**
 * Scenario 4: snapshot ingest, single and batch, our Fastify backend beside the Express +
 * Mongoose peer, on the same database server. Each (implementation, mode) gets a database of its
 * own seeded with the same auctions, so neither inherits the other's documents.
 */
import { countSnapshots, lookupDiagnostics, seedAuctions, type LookupDiagnostics } from '../lib/database.js';
import { CpuMeter } from '../lib/proc.js';
import type { Service } from '../lib/processes.js';
import { formatInt } from '../lib/progress.js';
import { distribution, type Distribution } from '../lib/stats.js';
import { startExpressPeer, startOurBackend, type Context } from './context.js';
import type { CpuUse } from './socket.js';

export type IngestImplementation = 'ours' | 'express';
export type IngestMode = 'single' | 'batch';

export interface IngestRun {
  readonly implementation: IngestImplementation;
  readonly mode: IngestMode;
  readonly seconds: number;
  readonly requests: number;
  readonly stored: number;
  readonly notStored: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly statuses: Record<string, number>;
  readonly storedPerSecond: number;
  readonly latencyMs: Distribution;
  readonly serverCpu: CpuUse;
  readonly serverCpuSecondsPer1000Stored: number;
  readonly databaseCpu: CpuUse | undefined;
  readonly generatorCpu: CpuUse;
  /** Documents in the collection afterwards (warm-up included) = what both sides say was stored. */
  readonly documentsAfter: number;
  readonly documentsExpected: number;
}

export interface IngestResult {
  readonly auctions: number;
  readonly batchSize: number;
  readonly runs: readonly IngestRun[];
  readonly diagnostics: LookupDiagnostics;
}

const NAMES: Record<IngestImplementation, string> = { ours: 'ours (Fastify)', express: 'Express + Mongoose' };

export async function runIngestSuite(ctx: Context, auctions: readonly string[]): Promise<IngestResult> {
  const { config, progress } = ctx;
  const runs: IngestRun[] = [];
  const minute = 60_000;
  const base = Math.floor(Date.now() / minute) * minute - 60 * 24 * minute * 30; // 30 days ago
  for (const mode of ['single', 'batch'] as const) {
    for (const implementation of ['ours', 'express'] as const) {
      const database = `bench_ingest_${mode}_${implementation}`;
      await seedAuctions(ctx.mongo, database, auctions);
      const name = `${implementation === 'ours' ? 'ours-backend' : 'peer-express'}-${mode}`;
      progress.step(`ingest/${mode}: starting ${NAMES[implementation]} on database ${database}`);
      const service =
        implementation === 'ours' ? await startOurBackend(ctx, database, name) : await startExpressPeer(ctx, database, name);
      try {
        runs.push(await measure(ctx, service, implementation, mode, database, auctions, base));
      } finally {
        await service.stop();
      }
    }
  }
  progress.step('ingest: timing the auction queries of both implementations on the database itself');
  const diagnostics = await lookupDiagnostics(ctx.mongo, `bench_ingest_batch_ours`, auctions);
  return { auctions: auctions.length, batchSize: config.ingestBatchSize, runs, diagnostics };
}

async function measure(
  ctx: Context,
  service: Service,
  implementation: IngestImplementation,
  mode: IngestMode,
  database: string,
  auctions: readonly string[],
  base: number,
): Promise<IngestRun> {
  const { config, progress } = ctx;
  const [generator] = ctx.workers;
  if (generator === undefined) throw new Error('no load worker');
  const concurrency = mode === 'single' ? config.ingestSingleConcurrency : config.ingestBatchConcurrency;
  const common = {
    origin: service.origin,
    internalKey: ctx.internalKey,
    mode,
    auctions,
    batchSize: config.ingestBatchSize,
    concurrency,
  } as const;
  // Warm-up on windows of their own (a year earlier), not measured.
  // Windows 20 days before the measured ones: never the same, and still within the 90-day retention
  // the backend now enforces on arrival.
  const warm = await generator.ingest({ ...common, durationMs: config.ingestWarmupMs, firstWindowMs: base - 20 * 24 * 3_600_000 });
  if (warm.errors > 0) throw new Error(`ingest/${mode} ${implementation} warm-up failed: ${warm.firstError ?? ''}`);

  progress.step(`ingest/${mode}: ${NAMES[implementation]} for ${(mode === 'single' ? config.ingestSingleMs : config.ingestBatchMs) / 1000} s, ${concurrency} requests in flight`);
  const serverCpu = new CpuMeter([service.pid]);
  const databaseCpu = ctx.databasePids.length > 0 ? new CpuMeter(ctx.databasePids) : undefined;
  const generatorCpu = new CpuMeter([generator.pid]);
  serverCpu.start();
  databaseCpu?.start();
  generatorCpu.start();
  const result = await generator.ingest({ ...common, durationMs: mode === 'single' ? config.ingestSingleMs : config.ingestBatchMs, firstWindowMs: base });
  const server = serverCpu.stop();
  const db = databaseCpu?.stop();
  const gen = generatorCpu.stop();
  const seconds = result.ms / 1000;
  const documentsAfter = await countSnapshots(ctx.mongo, database);
  const run: IngestRun = {
    implementation,
    mode,
    seconds,
    requests: result.requests,
    stored: result.stored,
    notStored: result.notStored,
    errors: result.errors,
    firstError: result.firstError,
    statuses: result.statuses,
    storedPerSecond: result.stored / seconds,
    latencyMs: distribution(result.latencyMs),
    serverCpu: { cpuSeconds: server.cpuSeconds, cores: server.cores, peakCores: server.peakCores },
    serverCpuSecondsPer1000Stored: (server.cpuSeconds / result.stored) * 1000,
    databaseCpu: db === undefined ? undefined : { cpuSeconds: db.cpuSeconds, cores: db.cores, peakCores: db.peakCores },
    generatorCpu: { cpuSeconds: gen.cpuSeconds, cores: gen.cores, peakCores: gen.peakCores },
    documentsAfter,
    documentsExpected: warm.stored + result.stored,
  };
  progress.step(
    `ingest/${mode}: ${NAMES[implementation]} stored ${formatInt(run.storedPerSecond)}/s, p50 ${run.latencyMs.p50.toFixed(1)} ms, ` +
      `p99 ${run.latencyMs.p99.toFixed(1)} ms (${formatInt(run.requests)} requests, ${run.errors} errors); ` +
      `server ${(run.serverCpu.cores * 100).toFixed(0)} %, database ${db === undefined ? 'n/a' : `${(db.cores * 100).toFixed(0)} %`} of a core`,
  );
  if (documentsAfter !== run.documentsExpected) {
    progress.step(`ingest/${mode}: WARNING ${NAMES[implementation]} reported ${run.documentsExpected} stored, the collection holds ${documentsAfter}`);
  }
  return run;
}
