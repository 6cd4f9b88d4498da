/**
 * The cluster's Redis traffic at scale without the viewers: N simulated socket processes (in two
 * worker processes) against a real local redis-server, each writing on the 200 ms wall-clock
 * marks what ClusterCounts writes for its changed counts and hearing every message. 1 % of
 * 100,000 auctions change per tick over the whole cluster, each change on a random process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterBenchConfig } from '../cluster/config.js';
import type { SimCommand, SimReply, SimReport } from '../cluster/sim-messages.js';
import { onCleanup } from '../lib/cleanup.js';
import { CpuMeter } from '../lib/proc.js';
import type { Progress } from '../lib/progress.js';
import { RedisMeter, type RedisLoad } from '../lib/redis-meter.js';
import type { LocalRedis } from '../lib/redis-server.js';
import { RespClient } from '../lib/resp.js';
import { distribution, sum, type Distribution } from '../lib/stats.js';
import { split } from '../load/pool.js';

const WORKER_SCRIPT = fileURLToPath(new URL('../cluster/sim-worker.js', import.meta.url));
const PREFIX = 'sim:';
/** The real code's timings (cluster-counts.ts DEFAULT_CLUSTER_TIMINGS). */
const HEARTBEAT_MS = 2_000;
const EXPIRE_MS = 6_000;

export interface SimResult {
  readonly processes: number;
  readonly auctions: number;
  readonly changesPerTick: number;
  readonly intervalMs: number;
  readonly seconds: number;
  readonly publishedPerSecond: number;
  readonly pairsPerMessage: number;
  readonly messageBytes: number;
  readonly skippedMarks: number;
  readonly failedWrites: number;
  /** Messages delivered to all subscribers together, per second. */
  readonly deliveredPerSecond: number;
  readonly deliveredBytesPerSecond: number;
  readonly redis: RedisLoad;
  /** The simulation workers' CPU (all simulated processes), cores. */
  readonly simulatorCores: number;
  readonly execMs: Distribution;
  readonly fanOutMs: Distribution;
  readonly tickLateMs: Distribution;
}

class SimWorker {
  readonly pid: number;
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (report: SimReport | undefined) => void; reject: (error: Error) => void }>();

  constructor(readonly name: string) {
    this.child = fork(WORKER_SCRIPT, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (this.child.pid === undefined) throw new Error(`could not fork ${name}`);
    this.pid = this.child.pid;
    this.child.on('message', (reply: SimReply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.report);
      else waiter?.reject(new Error(`${name}: ${reply.error}`));
    });
    this.child.on('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`${name} exited (${String(code ?? signal)})`));
      this.waiting.clear();
    });
  }

  request(command: SimCommand): Promise<SimReport | undefined> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, command });
    });
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

export async function runSimulation(config: ClusterBenchConfig, redis: LocalRedis, progress: Progress, processes: number): Promise<SimResult> {
  const admin = await RespClient.connect(redis.port);
  const workers = Array.from({ length: Math.min(config.simWorkers, processes) }, (_, w) => new SimWorker(`sim-${w}`));
  const unregister = onCleanup('simulation workers', () => {
    for (const worker of workers) worker.stop();
  });
  try {
    await admin.send(['FLUSHALL']); // the previous run's hashes would change the HSET costs
    const changesPerTick = Math.round(config.simAuctions * config.simChangeFraction);
    const ids = split(
      Array.from({ length: processes }, (_, i) => `sim-host:${i}`),
      workers.length,
    );
    progress.step(
      `sim/${processes}: ${processes} simulated processes (${workers.length} workers, 2 Redis connections each process), ` +
        `${changesPerTick} of ${config.simAuctions.toLocaleString('en-US')} auctions changing per ${config.broadcastIntervalMs} ms tick`,
    );
    await Promise.all(
      workers.map((worker, w) => {
        const own = ids[w] ?? [];
        return worker.request({
          type: 'setup',
          port: redis.port,
          prefix: PREFIX,
          processIds: own,
          auctions: config.simAuctions,
          changesPerTick: Math.round((changesPerTick * own.length) / processes),
          intervalMs: config.broadcastIntervalMs,
          heartbeatMs: HEARTBEAT_MS,
          expireMs: EXPIRE_MS,
        });
      }),
    );
    await Promise.all(workers.map((worker) => worker.request({ type: 'start' })));
    await sleep(config.simWarmUpMs);
    await Promise.all(workers.map((worker) => worker.request({ type: 'mark' })));
    const meter = new RedisMeter(admin, redis.pid);
    const cpu = new CpuMeter(workers.map((worker) => worker.pid));
    await meter.start();
    cpu.start();
    await sleep(config.simMeasureMs);
    const load = await meter.stop();
    const simulator = cpu.stop();
    const reports = (await Promise.all(workers.map((worker) => worker.request({ type: 'stop' })))).filter(
      (report): report is SimReport => report !== undefined,
    );
    const seconds = Math.max(...reports.map((r) => r.seconds));
    const published = sum(reports.map((r) => r.published));
    const result: SimResult = {
      processes,
      auctions: config.simAuctions,
      changesPerTick,
      intervalMs: config.broadcastIntervalMs,
      seconds,
      publishedPerSecond: published / seconds,
      pairsPerMessage: sum(reports.map((r) => r.pairsPublished)) / published,
      messageBytes: sum(reports.map((r) => r.bytesPublished)) / published,
      skippedMarks: sum(reports.map((r) => r.skippedMarks)),
      failedWrites: sum(reports.map((r) => r.failedWrites)),
      deliveredPerSecond: sum(reports.map((r) => r.received)) / seconds,
      deliveredBytesPerSecond: sum(reports.map((r) => r.receivedBytes)) / seconds,
      redis: load,
      simulatorCores: simulator.cores,
      execMs: distribution(...reports.map((r) => r.execMs)),
      fanOutMs: distribution(...reports.map((r) => r.fanOutMs)),
      tickLateMs: distribution(...reports.map((r) => r.tickLateMs)),
    };
    progress.step(
      `sim/${processes}: Redis ${(load.cpuCores * 100).toFixed(1)} % of a core, ${Math.round(load.commandsPerSecond).toLocaleString('en-US')} commands/s, ` +
        `in ${(load.bytesInPerSecond / 1e6).toFixed(2)} MB/s, out ${(load.bytesOutPerSecond / 1e6).toFixed(2)} MB/s; ` +
        `${result.publishedPerSecond.toFixed(0)} messages/s of ${result.messageBytes.toFixed(0)} B; simulator ${(simulator.cores * 100).toFixed(0)} %`,
    );
    return result;
  } finally {
    for (const worker of workers) worker.stop();
    unregister();
    admin.close();
  }
}
