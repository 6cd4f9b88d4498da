import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/**
 * Starts a Node service in its own process group, so that Ctrl-C reaches only the launcher,
 * which then stops the services in order (socket server first, so its last flush still
 * finds the backend).
 */
export function startService(name: string, script: string, env: NodeJS.ProcessEnv): Service {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    resolve(code);
  }));
  return { name, child, exited };
}

/** Waits until `url` answers 200, or the service dies, or the time is up. */
export async function waitForHealth(service: Service, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) throw new Error(`${service.name} exited during start-up (see its log above)`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${service.name} did not answer ${url} within ${String(timeoutMs)} ms`);
}

export async function stopService(service: Service, timeoutMs: number): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), timeoutMs);
  await service.exited;
  clearTimeout(timer);
}
