import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** A server under test, running as its own process so that its CPU and RSS can be read. */
export interface Service {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly origin: string;
  /** From the spawn until it said it was ready. */
  readonly startedInMs: number;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every service still running (the runner failed or was interrupted). */
export function killAllServices(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export interface StartOptions {
  readonly name: string;
  /** A Node.js script: the service's own entry point (node <script>). */
  readonly script: string;
  /** Node options before the script (e.g. --inspect=127.0.0.1:<port>). */
  readonly execArgv?: readonly string[];
  readonly env: Record<string, string>;
  readonly port: number;
  /** Output goes to this file (under bench/results/, git-ignored). */
  readonly logFile: string;
  readonly readyTimeoutMs?: number;
  /** The path that answers 200 once the service takes traffic (a load balancer's readiness check); /health unless named. */
  readonly readyPath?: string;
  /**
   * Ready once the log file holds this line, instead of once /health answers: processes sharing a
   * port (SO_REUSEPORT) cannot tell whose /health answered.
   */
  readonly readyLogLine?: string;
}

export async function startService(options: StartOptions): Promise<Service> {
  const log = openSync(options.logFile, 'a');
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...(options.execArgv ?? []), options.script], {
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
  });
  if (child.pid === undefined) throw new Error(`${options.name} did not start`);
  const origin = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode} at start; see ${options.logFile}`);
    if (options.readyLogLine === undefined ? (await httpStatus(`${origin}${options.readyPath ?? '/health'}`)) === 200 : logHas(options.logFile, options.readyLogLine)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} was not ready in time; see ${options.logFile}`);
    }
    await sleep(100);
  }
  const pid = child.pid;
  const startedInMs = performance.now() - spawnedAt;
  return {
    startedInMs,
    name: options.name,
    pid,
    port: options.port,
    origin,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function logHas(file: string, line: string): boolean {
  try {
    return readFileSync(file, 'utf8').includes(line);
  } catch {
    return false;
  }
}

/** Status of a GET, or 0 when nothing answers. */
export function httpStatus(url: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => {
      resolve(0);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
    req.end();
  });
}

/** Body of a GET (for /metrics), or undefined on failure. */
export function httpText(url: string, timeoutMs = 2_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
    req.on('error', () => {
      resolve(undefined);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.end();
  });
}

