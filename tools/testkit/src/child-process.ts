import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Resolves with the child's exit code (null when a signal ended it); rejects if it could not start. */
export function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      resolve(code);
    });
  });
}

/** Sends `signal` unless the child already ended, and waits for `exited`; SIGKILL after `timeoutMs`. */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** True when a Docker engine (not just the client) answers: then testcontainers can run images. */
export function dockerEngineAnswers(): boolean {
  const cli = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 10_000 });
  if (cli.error === undefined) return cli.status === 0;
  // No docker CLI: testcontainers talks to the socket itself.
  return process.env['DOCKER_HOST'] !== undefined || existsSync('/var/run/docker.sock');
}

/** True while a process with this pid exists (signal 0 only checks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
