import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux build that matters). */
const TICKS_PER_SECOND = 100;

export interface ProcSample {
  readonly pid: number;
  /** utime + stime of all the process's threads, in seconds. */
  readonly cpuSeconds: number;
  /** Resident set size, bytes. */
  readonly rssBytes: number;
  /** performance.timeOrigin-relative wall clock of the sample, ms. */
  readonly at: number;
}

/** CPU time and RSS of a process from /proc (Linux only); undefined once it is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return {
      pid,
      cpuSeconds: (utime + stime) / TICKS_PER_SECOND,
      rssBytes: rss?.[1] === undefined ? 0 : Number(rss[1]) * 1024,
      at: performance.now(),
    };
  } catch {
    return undefined;
  }
}

export interface CpuWindow {
  /** CPU seconds spent between the two samples. */
  readonly cpuSeconds: number;
  /** cpuSeconds / wall seconds: 1.0 is one core fully busy. */
  readonly cores: number;
  readonly wallSeconds: number;
}

/** CPU use of a set of processes between `start()` and `stop()`, plus the busiest ~half second. */
export class CpuMeter {
  private first = new Map<number, ProcSample>();
  private previous = new Map<number, ProcSample>();
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: readonly number[]) {}

  start(sampleEveryMs = 500): void {
    this.first = this.sampleAll();
    this.previous = this.first;
    this.peak = 0;
    this.timer = setInterval(() => {
      const now = this.sampleAll();
      const window = between(this.previous, now);
      if (window.wallSeconds > 0.2) this.peak = Math.max(this.peak, window.cores);
      this.previous = now;
    }, sampleEveryMs);
  }

  stop(): CpuWindow & { readonly peakCores: number } {
    clearInterval(this.timer);
    this.timer = undefined;
    const last = this.sampleAll();
    const total = between(this.first, last);
    const tail = between(this.previous, last);
    if (tail.wallSeconds > 0.2) this.peak = Math.max(this.peak, tail.cores);
    return { ...total, peakCores: Math.max(this.peak, total.cores) };
  }

  private sampleAll(): Map<number, ProcSample> {
    return sampleAll(this.pids);
  }
}

function between(from: Map<number, ProcSample>, to: Map<number, ProcSample>): CpuWindow {
  let cpu = 0;
  let wall = 0;
  for (const [pid, end] of to) {
    const start = from.get(pid);
    if (start === undefined) continue;
    cpu += end.cpuSeconds - start.cpuSeconds;
    wall = Math.max(wall, (end.at - start.at) / 1000);
  }
  return { cpuSeconds: cpu, wallSeconds: wall, cores: wall > 0 ? cpu / wall : 0 };
}

/**
 * Direct children of this process whose command name is `comm`, or `comm-<anything>` (the FerretDB
 * devdb started is `ferretdb-<digest of its sources>`, cut to 15 characters by the kernel).
 */
export function childPidsNamed(comm: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if ((name === comm || name.startsWith(`${comm}-`)) && ppid === process.pid) found.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

/** Busy and total clock ticks of the whole machine since boot (/proc/stat, all CPUs together). */
export function machineTicks(): { readonly busy: number; readonly total: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? '';
  // cpu  user nice system idle iowait irq softirq steal ...
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

export interface Quiet {
  /** From the call until the quiet stretch began. */
  readonly busyMs: number;
  /** CPU seconds the processes spent meanwhile. */
  readonly cpuSeconds: number;
  /** False when `timeoutMs` passed first. */
  readonly quiet: boolean;
}

/**
 * Waits until `pids` together use less than `belowCores` of a core for `quietMs` on end: the
 * background work a server does after a load (copies, compaction) is over, whatever it is.
 */
export async function waitForQuiet(pids: readonly number[], { quietMs = 5_000, belowCores = 0.05, timeoutMs = 600_000 } = {}): Promise<Quiet> {
  const started = performance.now();
  const first = sampleAll(pids);
  let previous = first;
  let quietSince: number | undefined;
  let busyUntil = started;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = sampleAll(pids);
    const window = between(previous, now);
    previous = now;
    const at = performance.now();
    if (window.cores >= belowCores) {
      quietSince = undefined;
      busyUntil = at;
    } else quietSince ??= at;
    const done = quietSince !== undefined && at - quietSince >= quietMs;
    if (done || at - started >= timeoutMs) {
      return { busyMs: busyUntil - started, cpuSeconds: between(first, now).cpuSeconds, quiet: done };
    }
  }
}

function sampleAll(pids: readonly number[]): Map<number, ProcSample> {
  const samples = new Map<number, ProcSample>();
  for (const pid of pids) {
    const sample = sampleProcess(pid);
    if (sample !== undefined) samples.set(pid, sample);
  }
  return samples;
}
