/**
 * A local redis-server for the cluster benchmark, started the way tools/redis starts one for
 * tests (no persistence, loopback, a free port, a watchdog so it never outlives this process),
 * but here, because the bench must read its CPU from /proc and so needs its pid: a REDIS_URL or
 * a container would hide it. The bench package takes no dependency on tools/redis for this.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { exitCode, freePort, stopChild } from '@viewer-analytics/testkit';
import { RespClient } from './resp.js';

/** Execs redis-server under the shell's pid, and sends it SIGTERM when our end of stdin closes. */
const WATCHDOG_SCRIPT = 'exec 3<&0; { read -r line <&3; kill -TERM $$ 2>/dev/null; } & exec "$0" "$@" 3<&-';
const START_TIMEOUT_MS = 10_000;

export interface LocalRedis {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  readonly version: string;
  stop(): Promise<void>;
}

const running = new Set<LocalRedis>();

/** Stops every redis-server still running (the run failed or was interrupted). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...running].map((redis) => redis.stop()));
}

export async function startLocalRedis(logFile: string): Promise<LocalRedis> {
  const port = await freePort();
  const log = openSync(logFile, 'a');
  // io-threads stay at Redis's default (1): the figures are those of one Redis core.
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--supervised', 'no', '--daemonize', 'no'];
  const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'redis-server', ...args], { stdio: ['pipe', log, log] });
  closeSync(log);
  const exited = exitCode(child);
  child.once('exit', () => child.stdin?.destroy());
  const pid = child.pid;
  if (pid === undefined) throw new Error('redis-server did not start (is it installed? apt-get install redis-server)');

  const deadline = Date.now() + START_TIMEOUT_MS;
  let version = 'unknown';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}; see ${logFile}`);
    const client = await RespClient.connect(port).catch(() => undefined);
    if (client !== undefined) {
      try {
        await client.send(['PING']);
        version = /redis_version:(\S+)/.exec(String(await client.send(['INFO', 'server'])))?.[1] ?? version;
        break;
      } catch {
        // Loading: try again.
      } finally {
        client.close();
      }
    }
    if (Date.now() > deadline) {
      await stopChild(child, exited, 'SIGKILL');
      throw new Error(`redis-server did not answer within ${START_TIMEOUT_MS} ms; see ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await sleep(50);
  }
  const redis: LocalRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid,
    version,
    async stop() {
      running.delete(redis);
      await stopChild(child, exited);
    },
  };
  running.add(redis);
  return redis;
}
