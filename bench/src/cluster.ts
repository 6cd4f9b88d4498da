/**
 * `pnpm bench:cluster` (full, ~5 minutes) or `pnpm bench:cluster --short` (under 3 minutes on 2
 * cores): the socket server as a cluster through Redis. Part 1 runs real processes (Redis,
 * backend, database, K socket processes on one port, ≥ 50,000 viewers); part 2 simulates 10, 50
 * and 100 processes' Redis traffic against a real redis-server. Writes
 * bench/results/cluster-<timestamp>.json (+ .md) and prints the Markdown tables. See
 * bench/README.md ("Cluster benchmark") and src/cluster/config.ts for the options.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@viewer-analytics/devdb';
import { loadClusterConfig } from './cluster/config.js';
import { clusterMarkdown, modelOf, type ClusterBenchResults } from './cluster/report.js';
import { cleanUpAll, onCleanup } from './lib/cleanup.js';
import { killAllServices } from './lib/processes.js';
import { Progress } from './lib/progress.js';
import { runToExit, writeResults } from './lib/results.js';
import { startLocalRedis, stopAllRedis } from './lib/redis-server.js';
import { runClusterProcesses, type ClusterProcessesResult } from './scenarios/cluster-processes.js';
import { runSimulation, type SimResult } from './scenarios/cluster-sim.js';

const config = loadClusterConfig(process.argv.slice(2), process.env);
const progress = new Progress();
const startedAt = new Date();
const loadAverageAtStart = loadavg();
const stamp = `cluster-${startedAt.toISOString().replace(/[:.]/g, '-')}`;
const resultsDir = join(REPO_ROOT, 'bench', 'results');
const runDir = join(resultsDir, stamp);
mkdirSync(runDir, { recursive: true });

for (const entry of ['services/socket/dist/main.js', 'services/backend/dist/server.js']) {
  if (!existsSync(join(REPO_ROOT, entry))) {
    process.stderr.write(`${entry} is missing: build first (pnpm exec tsc -b), or run through \`pnpm bench:cluster\`.\n`);
    process.exit(1);
  }
}

/** Whatever a scenario left running, then the last resort for processes it had not registered yet. */
async function cleanUp(): Promise<void> {
  await cleanUpAll((message) => {
    progress.step(message);
  });
  killAllServices();
  await stopAllRedis();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress.step(`${signal}: stopping every process this run started`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function simulate(): Promise<SimResult[]> {
  const redis = await startLocalRedis(join(runDir, 'redis-server-sim.log'));
  const unregister = onCleanup('redis-server (simulation)', () => redis.stop());
  try {
    progress.step(`simulation: redis-server ${redis.version} at ${redis.url} (pid ${redis.pid})`);
    const runs: SimResult[] = [];
    for (const processes of config.simProcesses) runs.push(await runSimulation(config, redis, progress, processes));
    return runs;
  } finally {
    await redis.stop();
    unregister();
  }
}

async function main(): Promise<void> {
  progress.step(`bench:cluster, ${config.mode} mode: ${[...config.parts].join(', ')}; logs in ${runDir}`);
  let processes: ClusterProcessesResult | undefined;
  let simulation: SimResult[] = [];
  if (config.parts.has('processes')) processes = await runClusterProcesses(config, runDir, progress);
  if (config.parts.has('sim')) simulation = await simulate();

  const cpuList = cpus();
  const results: ClusterBenchResults = {
    startedAt: startedAt.toISOString(),
    mode: config.mode,
    wallSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: {
      cpus: cpuList.length,
      model: cpuList[0]?.model.trim() ?? 'unknown',
      node: process.version,
      loadAverageAtStart,
      loadAverageAtEnd: loadavg(),
    },
    settings: { ...config, parts: [...config.parts] },
    processes,
    simulation,
    model: modelOf(simulation),
  };
  writeResults(resultsDir, stamp, results, clusterMarkdown(results), progress);
}

await runToExit('bench:cluster', main, cleanUp);
