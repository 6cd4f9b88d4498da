/** Process and timing helpers for the start command, the tests and the benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopChild } from './child-process.js';

export { dockerEngineAnswers, exitCode, isAlive, stopChild } from './child-process.js';
export { configurationGaps } from './env-example.js';
export { buildGoBinary } from './go-build.js';
export { mix32 } from './hash.js';

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** `what` may be a function: it is read on failure, so the message tells the state at that moment. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what: string | (() => string) = 'a condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await sleep(20);
  }
}

export interface NodeServiceOptions {
  readonly name: string;
  readonly script: string;
  readonly env: NodeJS.ProcessEnv;
  /** URL that answers 200 once the service is up. */
  readonly healthUrl: string;
  /** Own process group: a terminal's Ctrl-C then reaches only the parent, which stops it in order. */
  readonly detached?: boolean;
  /** Keep the output's lines in `output` (for tests that read the log) instead of passing it through. */
  readonly captureOutput?: boolean;
}

/** A Node service in a child process: started until healthy, stopped with SIGTERM (SIGKILL after a while). */
export class NodeService {
  private child: ChildProcess | undefined;
  private exitedPromise: Promise<number | null> | undefined;
  /** Lines the process wrote to stdout and stderr, with `captureOutput`. */
  readonly output: string[] = [];

  constructor(readonly options: NodeServiceOptions) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves with the exit code when the process ends. */
  get exited(): Promise<number | null> {
    if (this.exitedPromise === undefined) throw new Error(`${this.options.name} was not started`);
    return this.exitedPromise;
  }

  /** Starts the process and waits until it answers its health URL. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.spawn();
    await this.healthy(timeoutMs);
  }

  /** Starts the process without waiting for it (for tests of start-ups that fail). */
  spawn(): void {
    const capture = this.options.captureOutput ?? false;
    const child = spawn(process.execPath, [this.options.script], {
      env: this.options.env,
      stdio: ['ignore', capture ? 'pipe' : 'inherit', capture ? 'pipe' : 'inherit'],
      detached: this.options.detached ?? false,
    });
    this.child = child;
    if (capture) {
      for (const stream of [child.stdout, child.stderr]) {
        let partial = '';
        stream?.setEncoding('utf8').on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          this.output.push(...lines);
        });
      }
    }
    this.exitedPromise = new Promise((resolve) => child.once('exit', (code) => {
      resolve(code);
    }));
  }

  /** Waits until the health URL answers 200; fails at once if the process exits. */
  async healthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.running) {
          const log = this.options.captureOutput === true ? `:\n${this.output.slice(-10).join('\n')}` : ' (see its log above)';
          throw new Error(`${this.options.name} exited during start-up${log}`);
        }
        const response = await fetch(this.options.healthUrl).catch(() => undefined);
        return response?.ok === true;
      },
      timeoutMs,
      `${this.options.name} to answer ${this.options.healthUrl}`,
    );
  }

  /** Sends `signal` without waiting for anything. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`. Returns the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    const child = this.child;
    if (child === undefined) return null;
    await stopChild(child, this.exited, signal, timeoutMs);
    return this.exited;
  }
}
