/**
 * What `pnpm bench:cluster` does. `--short` (or BENCH_MODE=short) stays under three minutes on 2
 * cores (measured: 1 min 46 s); full mode takes about five. Options: --only=processes,sim (or BENCH_ONLY);
 * BENCH_CLUSTER_PROCESSES (socket processes, default 4 short, 5 full), BENCH_CLUSTER_VIEWERS
 * (default 50,000 short, 90,000 full: about 18,000 per process, under MAX_CONNECTIONS and the
 * 20,000-file limit), BENCH_CLUSTER_SIM (simulated process counts, default 10,50,100:
 * three points for the fit the extrapolation rests on).
 */
export type ClusterPart = 'processes' | 'sim';

export interface ClusterBenchConfig {
  readonly mode: 'short' | 'full';
  readonly parts: ReadonlySet<ClusterPart>;

  /** Real socket processes on one port. */
  readonly socketProcesses: number;
  readonly viewers: number;
  /** Load processes: each holds at most ~19,000 connections (20,000 files per process). */
  readonly loadWorkers: number;
  /** Source addresses of each load process's connections. */
  readonly sourceAddressesPerWorker: number;
  readonly sourceAddresses: readonly string[];
  /** The probes' own source address, apart from the load's. */
  readonly probeSourceAddress: string;
  readonly liveAuctions: number;
  readonly warmUpViewersPerAuction: number;
  readonly holdConcurrency: number;
  readonly settleMs: number;
  readonly probeAuctions: number;
  readonly probeIdleMs: number;
  readonly churnMs: number;
  /** Join/leave loops per load process during the churn phase (closed loop). */
  readonly churnConcurrency: number;
  readonly maxConnectionsPerProcess: number;
  readonly broadcastIntervalMs: number;

  /** Simulation against a real redis-server. */
  readonly simProcesses: readonly number[];
  readonly simAuctions: number;
  /** Share of the auctions whose count changes per tick, over the whole cluster. */
  readonly simChangeFraction: number;
  readonly simWorkers: number;
  readonly simWarmUpMs: number;
  readonly simMeasureMs: number;
}

const PARTS: readonly ClusterPart[] = ['processes', 'sim'];

function numberList(raw: string | undefined, fallback: readonly number[]): number[] {
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const values = raw.split(',').map((item) => Number(item.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 1)) throw new Error(`not a list of positive integers: ${raw}`);
  return values;
}

export function loadClusterConfig(args: readonly string[], env: NodeJS.ProcessEnv): ClusterBenchConfig {
  const short = args.includes('--short') || env['BENCH_MODE'] === 'short';
  const onlyRaw = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length) ?? env['BENCH_ONLY'];
  const parts = onlyRaw === undefined || onlyRaw === '' ? [...PARTS] : onlyRaw.split(',').map((part) => part.trim());
  const unknown = parts.filter((part) => !(PARTS as readonly string[]).includes(part));
  if (unknown.length > 0) throw new Error(`--only: unknown ${unknown.join(', ')} (known: ${PARTS.join(', ')})`);
  const viewers = Number(env['BENCH_CLUSTER_VIEWERS'] ?? (short ? 50_000 : 90_000));
  // 16,000 per load process at most: room under the 20,000-file limit for the rest.
  const loadWorkers = Math.max(2, Math.ceil(viewers / 16_000));
  // At most ~7,000 connections per source address: bind() picks a free ephemeral port among the
  // even ones first (~14,000 here), and a nearly full half makes every connect scan it in the
  // kernel (measured: the ramp fell from 2,300 to 200 viewers/s past ~14,000 on one address).
  const sourceAddressesPerWorker = Math.ceil(viewers / loadWorkers / 7_000);
  return {
    mode: short ? 'short' : 'full',
    parts: new Set(parts as ClusterPart[]),

    socketProcesses: Number(env['BENCH_CLUSTER_PROCESSES'] ?? (short ? 4 : 5)),
    viewers,
    loadWorkers,
    sourceAddressesPerWorker,
    sourceAddresses: Array.from({ length: loadWorkers * sourceAddressesPerWorker }, (_, i) => `127.0.0.${i + 2}`),
    probeSourceAddress: '127.0.2.1',
    // Fewer auctions in short mode: every process looks each one up once (FerretDB is slow).
    liveAuctions: short ? 500 : 1_000,
    warmUpViewersPerAuction: 8,
    holdConcurrency: 64,
    settleMs: short ? 2_000 : 5_000,
    probeAuctions: short ? 8 : 16,
    probeIdleMs: short ? 10_000 : 45_000,
    churnMs: short ? 8_000 : 40_000,
    churnConcurrency: 1,
    maxConnectionsPerProcess: 19_500,
    broadcastIntervalMs: 200,

    simProcesses: numberList(env['BENCH_CLUSTER_SIM'], [10, 50, 100]),
    simAuctions: 100_000,
    simChangeFraction: 0.01,
    simWorkers: 2,
    simWarmUpMs: short ? 3_000 : 5_000,
    simMeasureMs: short ? 10_000 : 30_000,
  };
}
