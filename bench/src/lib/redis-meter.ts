/**
 * What Redis did during a phase: its CPU from /proc/<pid>/stat, commands per second per command
 * (INFO commandstats deltas), bytes in and out (INFO stats total_net_input_bytes /
 * total_net_output_bytes deltas), and its own instantaneous_ops_per_sec at the end.
 */
import { sampleProcess } from './proc.js';
import { asText, type RespClient } from './resp.js';

interface InfoSnapshot {
  readonly at: number;
  readonly cpuSeconds: number;
  readonly commands: number;
  readonly netIn: number;
  readonly netOut: number;
  readonly instantaneousOps: number;
  readonly usedMemory: number;
  /** calls and usec per command name (lowercase, e.g. "publish"). */
  readonly perCommand: ReadonlyMap<string, { readonly calls: number; readonly usec: number }>;
}

export interface CommandRate {
  readonly command: string;
  readonly perSecond: number;
  /** Redis's own time per call, µs (INFO commandstats usec / calls). */
  readonly usecPerCall: number;
}

export interface RedisLoad {
  readonly seconds: number;
  /** Cores busy (1.0 = one core) from /proc utime + stime over the phase. */
  readonly cpuCores: number;
  readonly commandsPerSecond: number;
  /** INFO's instantaneous_ops_per_sec when the phase ended (Redis's own ~1.6 s average). */
  readonly instantaneousOpsPerSecond: number;
  readonly bytesInPerSecond: number;
  readonly bytesOutPerSecond: number;
  readonly usedMemoryBytes: number;
  /** Busiest commands first. */
  readonly commands: readonly CommandRate[];
}

function field(info: string, name: string): number {
  const match = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

async function snapshot(client: RespClient, pid: number): Promise<InfoSnapshot> {
  const info = asText(await client.send(['INFO', 'stats', 'commandstats', 'memory']));
  const cpu = sampleProcess(pid);
  const perCommand = new Map<string, { calls: number; usec: number }>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    perCommand.set(match[1] ?? '', { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return {
    at: performance.now(),
    cpuSeconds: cpu?.cpuSeconds ?? Number.NaN,
    commands: field(info, 'total_commands_processed'),
    netIn: field(info, 'total_net_input_bytes'),
    netOut: field(info, 'total_net_output_bytes'),
    instantaneousOps: field(info, 'instantaneous_ops_per_sec'),
    usedMemory: field(info, 'used_memory'),
    perCommand,
  };
}

export class RedisMeter {
  private first: InfoSnapshot | undefined;

  /** `client` is a spare connection of the runner's; the INFO calls it makes are counted too (two per phase). */
  constructor(
    private readonly client: RespClient,
    private readonly pid: number,
  ) {}

  async start(): Promise<void> {
    this.first = await snapshot(this.client, this.pid);
  }

  async stop(): Promise<RedisLoad> {
    const first = this.first;
    if (first === undefined) throw new Error('RedisMeter.stop() before start()');
    const last = await snapshot(this.client, this.pid);
    const seconds = (last.at - first.at) / 1000;
    const commands: CommandRate[] = [];
    for (const [command, end] of last.perCommand) {
      const start = first.perCommand.get(command) ?? { calls: 0, usec: 0 };
      const calls = end.calls - start.calls;
      if (calls <= 0) continue;
      commands.push({ command, perSecond: calls / seconds, usecPerCall: (end.usec - start.usec) / calls });
    }
    commands.sort((a, b) => b.perSecond - a.perSecond);
    return {
      seconds,
      cpuCores: (last.cpuSeconds - first.cpuSeconds) / seconds,
      commandsPerSecond: (last.commands - first.commands) / seconds,
      instantaneousOpsPerSecond: last.instantaneousOps,
      bytesInPerSecond: (last.netIn - first.netIn) / seconds,
      bytesOutPerSecond: (last.netOut - first.netOut) / seconds,
      usedMemoryBytes: last.usedMemory,
      commands,
    };
  }
}
