/**
 * What the machine did during one phase of the real-process run: Redis (CPU, commands, bytes),
 * each socket process, the load processes, the backend and database, this runner, and the whole
 * machine (others' processes included, to tell a quiet run from a crowded one).
 */
import { cpus } from 'node:os';
import { CpuMeter, machineTicks } from '../lib/proc.js';
import { RedisMeter, type RedisLoad } from '../lib/redis-meter.js';
import type { RespClient } from '../lib/resp.js';
import { sum } from '../lib/stats.js';
import type { LoadWorker } from '../load/pool.js';
import type { ClusterStack } from './stack.js';

export interface PhaseLoad {
  readonly name: string;
  readonly seconds: number;
  readonly redis: RedisLoad;
  /** Commands/s of the cluster alone: without the bench's own HGET (probes) and INFO. */
  readonly clusterCommandsPerSecond: number;
  /** All socket processes together, cores. */
  readonly socketCores: number;
  readonly socketCoresPerProcess: readonly number[];
  readonly generatorCores: number;
  /** Backend and database together, cores. */
  readonly backendDatabaseCores: number;
  /** This runner: the probes and the meters, cores. */
  readonly runnerCores: number;
  /** The whole machine, every process counted (others' too), cores of the machine's total. */
  readonly machineCores: number;
}

/** Meters of one phase: Redis, each socket process, the load processes. */
export class PhaseMeter {
  private readonly redis: RedisMeter;
  private readonly sockets: CpuMeter[];
  private readonly generators: CpuMeter;
  private readonly backendDatabase: CpuMeter;
  private readonly runner = new CpuMeter([process.pid]);
  private machineAtStart = machineTicks();

  constructor(
    private readonly name: string,
    admin: RespClient,
    stack: ClusterStack,
    workers: readonly LoadWorker[],
  ) {
    this.redis = new RedisMeter(admin, stack.redis.pid);
    this.sockets = stack.sockets.map((socket) => new CpuMeter([socket.service.pid]));
    this.generators = new CpuMeter(workers.map((worker) => worker.pid));
    this.backendDatabase = new CpuMeter([stack.backend.pid, ...stack.databasePids]);
  }

  async start(): Promise<void> {
    await this.redis.start();
    for (const meter of this.sockets) meter.start();
    this.generators.start();
    this.backendDatabase.start();
    this.runner.start();
    this.machineAtStart = machineTicks();
  }

  async stop(): Promise<PhaseLoad> {
    const machine = machineTicks();
    const redis = await this.redis.stop();
    const perProcess = this.sockets.map((meter) => meter.stop().cores);
    const bench = sum(redis.commands.filter((c) => c.command === 'hget' || c.command === 'info').map((c) => c.perSecond));
    return {
      name: this.name,
      seconds: redis.seconds,
      redis,
      clusterCommandsPerSecond: redis.commandsPerSecond - bench,
      socketCores: sum(perProcess),
      socketCoresPerProcess: perProcess,
      generatorCores: this.generators.stop().cores,
      backendDatabaseCores: this.backendDatabase.stop().cores,
      runnerCores: this.runner.stop().cores,
      machineCores: ((machine.busy - this.machineAtStart.busy) / (machine.total - this.machineAtStart.total)) * cpus().length,
    };
  }
}
