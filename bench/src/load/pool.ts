import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  ChurnCommand,
  ChurnResult,
  Command,
  HoldCommand,
  HoldResult,
  IngestCommand,
  IngestResult,
  ProbeCommand,
  ProbeResult,
  ReleaseResult,
  TrafficResult,
  WorkerMessage,
} from './messages.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));

/** The runner's handle on one forked load-generator process. */
export class LoadWorker {
  readonly pid: number;
  /** Viewers opened / failed by the current hold, as last reported. */
  opened = 0;
  failed = 0;
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(
    readonly name: string,
    sourceAddresses: readonly string[],
  ) {
    this.child = fork(WORKER_SCRIPT, [], {
      env: { ...process.env, BENCH_SOURCE_ADDRESSES: sourceAddresses.join(',') },
      serialization: 'advanced', // typed arrays of samples cross as they are
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (this.child.pid === undefined) throw new Error(`could not fork load worker ${name}`);
    this.pid = this.child.pid;
    this.child.on('message', (message: WorkerMessage) => {
      if ('progress' in message) {
        this.opened = message.opened;
        this.failed = message.failed;
        return;
      }
      const waiter = this.waiting.get(message.id);
      if (waiter === undefined) return;
      this.waiting.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`load worker ${name}: ${message.error}`));
    });
    this.child.on('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) {
        waiter.reject(new Error(`load worker ${name} exited (${String(code ?? signal)})`));
      }
      this.waiting.clear();
    });
  }

  hold(command: Omit<HoldCommand, 'type'>): Promise<HoldResult> {
    this.opened = 0;
    this.failed = 0;
    return this.request({ type: 'hold', ...command });
  }

  release(timeoutMs = 20_000): Promise<ReleaseResult> {
    return this.request({ type: 'release', timeoutMs });
  }

  traffic(): Promise<TrafficResult> {
    return this.request({ type: 'traffic' });
  }

  churn(command: Omit<ChurnCommand, 'type'>): Promise<ChurnResult> {
    return this.request({ type: 'churn', ...command });
  }

  probe(command: Omit<ProbeCommand, 'type'>): Promise<ProbeResult> {
    return this.request({ type: 'probe', ...command });
  }

  ingest(command: Omit<IngestCommand, 'type'>): Promise<IngestResult> {
    return this.request({ type: 'ingest', ...command });
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }

  private request<T>(command: Command): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, command });
    });
  }
}

/** Splits `items` into `parts` nearly equal slices (round robin keeps each slice spread out). */
export function split<T>(items: readonly T[], parts: number): T[][] {
  const slices: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, index) => {
    slices[index % parts]?.push(item);
  });
  return slices;
}
