import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('fixtures/shutdown-child.mjs', import.meta.url));

/** The fixture process (built shared package), its lines as they come and its exit code. */
function child(env: Record<string, string>) {
  const process_ = spawn(process.execPath, [CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  process_.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => process_.once('exit', resolve));
  const seen = async (line: string): Promise<void> => {
    while (!lines.includes(line)) {
      if (process_.exitCode !== null) throw new Error(`exited without "${line}": ${lines.join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { lines, exited, seen, signal: (signal: NodeJS.Signals) => process_.kill(signal) };
}

describe('installShutdown', () => {
  it('closes once on the first signal and exits 0', async () => {
    const run = child({});
    await run.seen('ready');
    run.signal('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.lines).toEqual(['ready', 'info shutting down gracefully', 'closing', 'closed']);
  });

  it('hands later signals to onRepeat and never exits before closing is done', async () => {
    const run = child({ CLOSE_MS: '400' });
    await run.seen('ready');
    run.signal('SIGINT');
    await run.seen('closing');
    run.signal('SIGTERM');
    await run.seen('repeat SIGTERM');
    run.signal('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.lines.slice(2)).toEqual(['closing', 'repeat SIGTERM', 'repeat SIGINT', 'closed']);
  });

  it('keeps closing on a later signal without onRepeat too', async () => {
    const run = child({ CLOSE_MS: '300', NO_REPEAT: '1' });
    await run.seen('ready');
    run.signal('SIGTERM');
    await run.seen('closing');
    run.signal('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.lines).toContain('closed');
  });

  it('exits 1 when closing fails', async () => {
    const run = child({ CLOSE_FAILS: '1' });
    await run.seen('ready');
    run.signal('SIGTERM');
    expect(await run.exited).toBe(1);
    expect(run.lines).toContain('error closing failed');
  });

  it('logs an uncaught error, closes, and exits 1', async () => {
    const run = child({ CRASH: '1' });
    expect(await run.exited).toBe(1);
    expect(run.lines).toEqual(['ready', 'error closing after an unexpected error', 'closing', 'closed']);
  });

  it('exits 1 at the deadline when one is set and closing hangs', async () => {
    const run = child({ CLOSE_MS: '60000', DEADLINE_MS: '200' });
    await run.seen('ready');
    run.signal('SIGTERM');
    expect(await run.exited).toBe(1);
    expect(run.lines).toEqual(['ready', 'info shutting down gracefully', 'closing', 'error closing took too long: exiting']);
  });
});
