/**
 * The runner's handle on the compiled churn generator (bench/loadgen, Go): a Node client spends
 * more CPU per join than our uWS server does, so on 2 cores a Node generator, not the server,
 * was the limit. One process per load worker's source addresses, each with its own open-file
 * limit; each holds its share of the observers and runs its join/leave loops when told to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '@viewer-analytics/devdb';
import { buildGoBinary, exitCode, stopChild } from '@viewer-analytics/testkit';
import type { ChurnResult } from './messages.js';
import type { Target } from './raw-viewer.js';

const MODULE_DIR = join(REPO_ROOT, 'bench', 'loadgen');
/** Under bench/dist: git-ignored, next to the compiled TypeScript it goes with. */
export const LOADGEN_BINARY = join(REPO_ROOT, 'bench', 'dist', 'loadgen');

/** `go build` every run: an unchanged source costs a fraction of a second, a changed one never runs stale. */
export function buildLoadgen(): Promise<void> {
  return buildGoBinary(MODULE_DIR, LOADGEN_BINARY, 'bench/loadgen');
}

export interface GoChurnOptions {
  readonly target: Target;
  /** One auction id per line: the churn joins any of them at random. */
  readonly auctionsFile: string;
  readonly sourceAddresses: readonly string[];
  /** This process observes the auctions whose index % shards === shard. */
  readonly shard: number;
  readonly shards: number;
  readonly observersPerAuction: number;
  readonly concurrency: number;
  readonly durationMs: number;
}

export interface GoChurnResult extends ChurnResult {
  /** Count frames the observers received during the churn. */
  readonly observerFrames: number;
}

interface ReadyLine {
  readonly event: 'ready';
  readonly observers: number;
  readonly failed: number;
}

interface ResultLine {
  readonly event: 'result';
  readonly joins: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly ms: number;
  readonly joinMs: number[] | null;
  readonly observerFrames: number;
}

/** One generator process: opens its observers at start, churns once on `churn()`, then exits. */
export class GoChurn {
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private readonly lines: AsyncIterator<string>;

  private constructor(options: GoChurnOptions) {
    this.child = spawn(
      LOADGEN_BINARY,
      [
        `-target=${options.target.kind}`,
        `-host=${options.target.host}`,
        `-port=${String(options.target.port)}`,
        `-auctions=${options.auctionsFile}`,
        `-sources=${options.sourceAddresses.join(',')}`,
        `-shard=${String(options.shard)}/${String(options.shards)}`,
        `-observers=${String(options.observersPerAuction)}`,
        `-concurrency=${String(options.concurrency)}`,
        `-duration=${String(options.durationMs)}ms`,
      ],
      // One OS thread runs Go code: no idle threads spinning for work on the server's cores.
      { env: { ...process.env, GOMAXPROCS: '1' }, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    if (this.child.pid === undefined || this.child.stdout === null) throw new Error('could not start bench/loadgen');
    this.pid = this.child.pid;
    this.exited = exitCode(this.child);
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts the process and waits until its observers are open. */
  static async start(options: GoChurnOptions): Promise<{ generator: GoChurn; observers: number; failed: number }> {
    const generator = new GoChurn(options);
    const ready = await generator.next<ReadyLine>('ready');
    return { generator, observers: ready.observers, failed: ready.failed };
  }

  /** Runs the join/leave loops for the configured duration. */
  async churn(): Promise<GoChurnResult> {
    this.child.stdin?.write('churn\n');
    const result = await this.next<ResultLine>('result');
    return {
      joins: result.joins,
      failed: result.failed,
      failures: result.failures,
      ms: result.ms,
      joinMs: Float64Array.from(result.joinMs ?? []),
      observerFrames: result.observerFrames,
    };
  }

  /** Waits for the observers' close handshakes (the process exits after them); kills it after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills it at once (the run failed). */
  kill(): Promise<void> {
    return stopChild(this.child, this.exited, 'SIGKILL');
  }

  private async next<T extends { readonly event: string }>(event: T['event']): Promise<T> {
    const line = await this.lines.next();
    if (line.done === true) throw new Error(`bench/loadgen exited (${String(await this.exited)}) before its ${event} line`);
    const parsed = JSON.parse(line.value) as T;
    if (parsed.event !== event) throw new Error(`bench/loadgen: expected ${event}, got ${line.value.slice(0, 200)}`);
    return parsed;
  }
}
