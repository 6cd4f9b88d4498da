/**
 * Keeps N copies of a Node script running, one per numbered slot (1…N): started together, each
 * restarted with backoff when it dies, all stopped together. The start command runs its socket
 * processes under it when SOCKET_PROCESSES is above 1; it knows nothing of sockets itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild, waitFor } from '@viewer-analytics/testkit';

export interface Backoff {
  /** Delay before the first restart, and again after a healthy run. */
  readonly firstMs: number;
  /** The delay doubles with each crash in a row up to this. */
  readonly maxMs: number;
  /** A process that ran at least this long before it died was healthy: its restart starts over at firstMs. */
  readonly healthyAfterMs: number;
}

/** 1 s, 2 s, 4 s … 30 s: a crash loop costs a start every 30 s, not a core. */
export const DEFAULT_BACKOFF: Backoff = { firstMs: 1_000, maxMs: 30_000, healthyAfterMs: 60_000 };

export interface SupervisorOptions {
  /** What the log lines call one process, e.g. "socket server" (→ "socket server 2"). */
  readonly name: string;
  readonly count: number;
  readonly script: string;
  /** The environment of a slot's process: the same for each process of that slot, restarts included. */
  readonly env: (slot: number) => NodeJS.ProcessEnv;
  /** True once the process `pid` serves (e.g. listens on its port): `start` waits for every slot's. */
  readonly ready: (pid: number) => boolean | Promise<boolean>;
  readonly log: (message: string) => void;
  readonly backoff?: Backoff;
  /** SIGKILL a process that has not exited this long after its SIGTERM. */
  readonly stopTimeoutMs?: number;
}

interface Slot {
  readonly number: number;
  child: ChildProcess | undefined;
  /** Resolves when the current child has exited (or could not be spawned). */
  ended: Promise<void>;
  startedAt: number;
  starts: number;
  nextDelayMs: number;
  restart: NodeJS.Timeout | undefined;
}

type Phase = 'idle' | 'starting' | 'running' | 'stopping';

export class ProcessSupervisor {
  private readonly slots: Slot[];
  private readonly backoff: Backoff;
  private phase: Phase = 'idle';
  /** Why `start` fails: a process died before every slot was ready (a bad configuration, a port taken). */
  private startFailure: Error | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.slots = Array.from({ length: options.count }, (_, index) => ({
      number: index + 1,
      child: undefined,
      ended: Promise.resolve(),
      startedAt: 0,
      starts: 0,
      nextDelayMs: this.backoff.firstMs,
      restart: undefined,
    }));
  }

  /**
   * Starts every slot and waits until each one's process is ready. A process that dies meanwhile
   * fails the start instead of being restarted: at start-up a crash is most likely a mistake that
   * a restart repeats. Call `stop` after a failed start as after a successful one.
   */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.phase !== 'idle') throw new Error(`${this.options.name}s were started already`);
    this.phase = 'starting';
    for (const slot of this.slots) this.spawn(slot);
    let ready = 0;
    await waitFor(
      async () => {
        if (this.startFailure !== undefined) throw this.startFailure;
        if (this.phase === 'stopping') throw new Error(`${this.options.name}s were stopped during start-up`);
        ready = 0;
        for (const slot of this.slots) {
          const pid = slot.child?.pid;
          if (pid !== undefined && (await this.options.ready(pid))) ready++;
        }
        return ready === this.slots.length;
      },
      timeoutMs,
      () => `every ${this.options.name} to be ready (${String(ready)} of ${String(this.slots.length)} are)`,
    );
    // stop() may have come in the last moment of the wait: it stays stopped.
    if (this.stopping === undefined) this.phase = 'running';
  }

  /** The pid of slot `slot`'s process (1-based) while it runs. */
  pid(slot: number): number | undefined {
    const child = this.slots[slot - 1]?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /** How many processes slot `slot` has had: 1 + its restarts. */
  starts(slot: number): number {
    return this.slots[slot - 1]?.starts ?? 0;
  }

  /** Sends `signal` to every running process at once, without waiting (a second Ctrl-C: hurry). */
  signal(signal: NodeJS.Signals): void {
    for (const slot of this.slots) {
      if (this.pid(slot.number) !== undefined) slot.child?.kill(signal);
    }
  }

  /**
   * Stops every process, no restart after this: one after another, the last slot first, each with
   * SIGTERM (SIGKILL after the timeout). One at a time, because a socket process that stops while
   * others live hands its snapshots over to them, and the last one alone delivers what the
   * cluster holds; stopped all at once, each would leave its copies in its outbox file.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.phase = 'stopping';
      for (const slot of this.slots) clearTimeout(slot.restart);
      const timeoutMs = this.options.stopTimeoutMs ?? 15_000;
      for (const slot of [...this.slots].reverse()) {
        if (slot.child !== undefined) await stopChild(slot.child, slot.ended, 'SIGTERM', timeoutMs);
      }
    })();
    return this.stopping;
  }

  private spawn(slot: Slot): void {
    // Own process group, as the backend's: a terminal's Ctrl-C reaches only the launcher, which
    // stops the processes in order.
    const child = spawn(process.execPath, [this.options.script], {
      env: this.options.env(slot.number),
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    slot.child = child;
    slot.startedAt = performance.now();
    slot.starts++;
    slot.ended = new Promise((resolve) => {
      let ended = false;
      const end = (how: string): void => {
        if (ended) return;
        ended = true;
        resolve();
        this.ended(slot, child, how);
      };
      child.once('exit', (code, signal) => {
        end(signal === null ? `exit code ${String(code)}` : `signal ${signal}`);
      });
      child.once('error', (error) => {
        end(`could not run: ${error.message}`);
      });
    });
  }

  private ended(slot: Slot, child: ChildProcess, how: string): void {
    if (slot.child !== child) return;
    const which = `${this.options.name} ${String(slot.number)} (pid ${String(child.pid ?? '?')})`;
    if (this.phase === 'stopping') return;
    if (this.phase === 'starting') {
      this.startFailure ??= new Error(`${which} exited during start-up (${how}); see its log above`);
      return;
    }
    const ranMs = performance.now() - slot.startedAt;
    if (ranMs >= this.backoff.healthyAfterMs) slot.nextDelayMs = this.backoff.firstMs;
    const delayMs = slot.nextDelayMs;
    slot.nextDelayMs = Math.min(delayMs * 2, this.backoff.maxMs);
    this.options.log(`${which} exited unexpectedly (${how}) after ${duration(ranMs)}; restarting it in ${duration(delayMs)}`);
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (this.phase !== 'running') return;
      this.spawn(slot);
      this.options.log(`${this.options.name} ${String(slot.number)} restarted (pid ${String(slot.child?.pid ?? '?')})`);
    }, delayMs);
  }
}

function duration(ms: number): string {
  return ms < 1_000 ? `${String(Math.round(ms))} ms` : `${String(Math.round(ms / 100) / 10)} s`;
}
