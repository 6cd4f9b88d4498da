import { spawn } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { exitCode } from './child-process.js';

/**
 * `go build` of the module in `moduleDir` into `binary`, through a temporary file renamed at the
 * end: concurrent builders never run a half-written binary. Go's build cache makes an unchanged
 * module a fraction of a second.
 */
export async function buildGoBinary(moduleDir: string, binary: string, what: string): Promise<void> {
  mkdirSync(dirname(binary), { recursive: true });
  const partial = `${binary}.${String(process.pid)}.partial`;
  const child = spawn('go', ['build', '-trimpath', '-o', partial, '.'], {
    cwd: moduleDir,
    env: { ...process.env, GOFLAGS: '-buildvcs=false' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let code: number | null;
  try {
    code = await exitCode(child);
  } catch (error) {
    throw new Error(`building ${what} needs Go (https://go.dev/dl/): ${(error as Error).message}`, { cause: error });
  }
  if (code !== 0) throw new Error(`building ${what} failed: go build exited with ${String(code)} (output above)`);
  renameSync(partial, binary);
}
