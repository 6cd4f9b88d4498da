/** What one bench run does: `--short` (or BENCH_MODE=short) stays under five minutes on 2 cores. */
export type Mode = 'short' | 'full';
export type SocketServerName = 'ours' | 'ws' | 'socketio';
export type Suite = 'conformance' | 'socket' | 'ingest' | 'flush' | 'dashboard' | 'insights' | 'soak';

export interface BenchConfig {
  readonly mode: Mode;
  readonly suites: ReadonlySet<Suite>;
  readonly servers: readonly SocketServerName[];
  /** Load-generator processes for viewers and HTTP load; one more runs the latency probes. */
  readonly workers: number;
  /** Source addresses of the generators' connections (each has its own ephemeral ports). */
  readonly sourceAddresses: readonly string[];

  /** Auctions the idle viewers and the churn spread over. */
  readonly liveAuctions: number;
  readonly idleViewers: number;
  /** Handshakes in flight per worker while opening the idle viewers. */
  readonly holdConcurrency: number;
  readonly settleMs: number;
  readonly churnMs: number;
  /** Join/leave loops per worker. */
  readonly churnConcurrency: number;
  /** Viewers kept on every live auction during the churn: the "others" who hear each change. */
  readonly observersPerAuction: number;
  /** Auctions reserved for latency probes (nobody else joins them), and their observers. */
  readonly probeAuctions: number;
  readonly probeObservers: number;
  /** How long joins are probed on quiet auctions after the churn. */
  readonly quietProbeMs: number;

  readonly ingestAuctions: number;
  readonly ingestSingleMs: number;
  readonly ingestSingleConcurrency: number;
  readonly ingestBatchMs: number;
  readonly ingestBatchConcurrency: number;
  readonly ingestBatchSize: number;
  readonly ingestWarmupMs: number;

  readonly flushAuctions: number;
  /** Windows measured through the real socket server (0: skip the end-to-end run). */
  readonly flushE2eWindows: number;
  readonly flushSampleIntervalMs: number;
  readonly flushSamplesPerSnapshot: number;
  /** Windows measured by driving the socket server's sampler/outbox/flusher modules directly. */
  readonly flushModuleWindows: number;

  /** Sizes the dashboard scenario grows the snapshot collection to, in turn. */
  readonly dashboardSizes: readonly number[];
  /** 1-hour reads timed at each size. */
  readonly dashboardQueries: number;
  /** 1-hour reads before the timed ones at each size, reported apart (the first after the collection grew, or the backend started). */
  readonly dashboardWarmupQueries: number;

  /** Requests timed per insights route after its cold first one, one at a time... */
  readonly insightsRequests: number;
  /** ...while this lasts (a route far over its bar is not asked 20 times). */
  readonly insightsRouteBudgetMs: number;
  /** Loads of the 30-day chart timed in Chromium. */
  readonly insightsChartLoads: number;

  /** The soak: our socket server + backend under idleViewers open viewers, a paced churn and real flushes. */
  readonly soakMs: number;
  /** Memory, heap and event-loop lag are read this often. */
  readonly soakSampleEveryMs: number;
  /** The first part of the soak, left out of the verdict (JIT, caches, heap growing to its working size). */
  readonly soakWarmupMs: number;
  /** Joins (each followed by its leave) started per second, whatever the server's pace. */
  readonly soakChurnPerSecond: number;
  /** Short windows for both services, so that many windows are flushed and stored during the soak. */
  readonly soakSampleIntervalMs: number;
  readonly soakSamplesPerSnapshot: number;
}

const ALL_SUITES: readonly Suite[] = ['conformance', 'socket', 'ingest', 'flush', 'dashboard', 'insights', 'soak'];
/**
 * The short mode's default: the soak is a measure of time, and the insights scenario's seeding and
 * first reads alone take minutes on FerretDB; both are asked for by name (`--only=…`) in short mode.
 */
const SHORT_SUITES: readonly Suite[] = ALL_SUITES.filter((suite) => suite !== 'soak' && suite !== 'insights');
const ALL_SERVERS: readonly SocketServerName[] = ['ours', 'ws', 'socketio'];

function listOption<T extends string>(
  args: readonly string[],
  name: string,
  env: string | undefined,
  allowed: readonly T[],
  fallback: readonly T[] = allowed,
): T[] {
  const flag = args.find((arg) => arg.startsWith(`--${name}=`));
  const raw = flag?.slice(name.length + 3) ?? env;
  if (raw === undefined || raw === '') return [...fallback];
  const picked = raw.split(',').map((item) => item.trim());
  const unknown = picked.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) throw new Error(`--${name}: unknown ${unknown.join(', ')} (known: ${allowed.join(', ')})`);
  return picked as T[];
}

/** BENCH_SOAK_MINUTES: a longer (or shorter) soak than the mode's, in whole minutes. */
function soakMinutes(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const minutes = Number(raw);
  if (!Number.isInteger(minutes) || minutes < 1) throw new Error(`BENCH_SOAK_MINUTES: expected a whole number of minutes ≥ 1, got ${JSON.stringify(raw)}`);
  return minutes;
}

export function loadBenchConfig(args: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const mode: Mode = args.includes('--short') || env['BENCH_MODE'] === 'short' ? 'short' : 'full';
  const short = mode === 'short';
  const workers = Number(env['BENCH_WORKERS'] ?? 2);
  return {
    mode,
    suites: new Set(listOption(args, 'only', env['BENCH_ONLY'], ALL_SUITES, short ? SHORT_SUITES : ALL_SUITES)),
    servers: listOption(args, 'servers', env['BENCH_SERVERS'], ALL_SERVERS),
    workers,
    sourceAddresses: Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`),

    liveAuctions: 1_000,
    idleViewers: Number(env['BENCH_IDLE_VIEWERS'] ?? 19_000),
    holdConcurrency: 96,
    settleMs: short ? 3_000 : 5_000,
    churnMs: short ? 8_000 : 30_000,
    churnConcurrency: Number(env['BENCH_CHURN_CONCURRENCY'] ?? 24),
    observersPerAuction: 2,
    probeAuctions: short ? 10 : 20,
    probeObservers: 5,
    quietProbeMs: short ? 5_000 : 15_000,

    ingestAuctions: 1_000,
    ingestSingleMs: short ? 8_000 : 30_000,
    ingestSingleConcurrency: 16,
    ingestBatchMs: short ? 10_000 : 40_000,
    ingestBatchConcurrency: 2,
    ingestBatchSize: 1_000,
    ingestWarmupMs: short ? 1_500 : 3_000,

    flushAuctions: 10_000,
    flushE2eWindows: short ? 0 : 3,
    flushSampleIntervalMs: 1_000,
    flushSamplesPerSnapshot: 10,
    flushModuleWindows: short ? 2 : 3,

    dashboardSizes: short ? [10_000, 30_000] : [10_000, 100_000, 1_000_000],
    dashboardQueries: short ? 50 : 300,
    dashboardWarmupQueries: 5,

    insightsRequests: 20,
    insightsRouteBudgetMs: short ? 30_000 : 120_000,
    insightsChartLoads: short ? 3 : 5,

    soakMs: soakMinutes(env['BENCH_SOAK_MINUTES'], short ? 1 : 10) * 60_000,
    soakSampleEveryMs: short ? 5_000 : 10_000,
    soakWarmupMs: short ? 30_000 : 60_000,
    soakChurnPerSecond: Number(env['BENCH_SOAK_CHURN'] ?? 200),
    soakSampleIntervalMs: 1_000,
    soakSamplesPerSnapshot: 10,
  };
}
