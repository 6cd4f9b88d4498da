import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { exitCode, freePort, stopChild } from '@viewer-analytics/testkit';
import type { RedisInstance } from './redis.js';

const START_TIMEOUT_MS = 10_000;
/** A free port can be taken by someone else before redis-server binds it: try a few. */
const PORT_ATTEMPTS = 3;

/**
 * redis-server has no "exit when the parent does" switch. This wrapper keeps a reader of the
 * stdin pipe (fd 3: a background list's stdin is /dev/null) and then execs redis-server under the
 * shell's own pid; when the parent dies its end of the pipe closes, the read returns and the
 * reader sends SIGTERM to that pid. $0 is the binary, the rest its arguments.
 */
const WATCHDOG_SCRIPT = 'exec 3<&0; { read -r line <&3; kill -TERM $$ 2>/dev/null; } & exec "$0" "$@" 3<&-';

export interface RedisServerOptions {
  readonly binary: string;
  /** Append-only file and working folder (npm start); no persistence at all when omitted (tests). */
  readonly dataDir: string | undefined;
  readonly log: (message: string) => void;
  /** A fixed port, e.g. for a fault test that starts it again where it was; a free one when omitted. */
  readonly port?: number | undefined;
}

/** The redis-server binary on `searchPath` (a PATH value), or undefined. */
export function findRedisServer(searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder: try the next one.
    }
  }
  return undefined;
}

export async function startRedisServer(options: RedisServerOptions): Promise<RedisInstance> {
  if (options.port !== undefined) return startOnPort(options, options.port);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startOnPort(options, port);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === PORT_ATTEMPTS) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startOnPort(options: RedisServerOptions, port: number): Promise<RedisInstance> {
  const persistence = options.dataDir === undefined ? ['--appendonly', 'no'] : ['--dir', options.dataDir, '--appendonly', 'yes'];
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--supervised', 'no', '--daemonize', 'no', ...persistence];
  // Its own process group: a terminal's Ctrl-C reaches only the parent, which stops it in order.
  const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, options.binary, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const exited = exitCode(child);
  // The watchdog's pipe must not keep this process alive once redis-server is gone.
  child.once('exit', () => child.stdin.destroy());
  const recent: string[] = [];
  await waitUntilReady(child, exited, recent);

  const url = `redis://127.0.0.1:${String(port)}`;
  options.log(`redis-server (${options.dataDir === undefined ? 'no persistence' : `append-only file in ${options.dataDir}`}) listening at ${url}`);
  return {
    url,
    kind: 'redis-server',
    pid: child.pid,
    async stop() {
      await stopChild(child, exited);
    },
  };
}

/** Resolves once redis-server logs that it accepts connections; its output keeps draining after. */
function waitUntilReady(child: ChildProcess, exited: Promise<number | null>, recent: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server was not ready within ${String(START_TIMEOUT_MS)} ms:\n${recent.join('\n')}`));
    }, START_TIMEOUT_MS);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (ready) return;
        recent.push(line);
        if (recent.length > 20) recent.shift();
        if (line.includes('Ready to accept connections')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
    }
    void exited.then(
      (code) => {
        if (ready) return;
        clearTimeout(timer);
        const output = recent.join('\n');
        if (output.includes('Address already in use')) reject(new PortTakenError(output));
        else reject(new Error(`redis-server exited with ${String(code)} before it was ready:\n${output}`));
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

