import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCode, freePort } from '@viewer-analytics/testkit';

const SERVER = join(import.meta.dirname, '../dist/server.js');

describe('the backend process', () => {
  it('exits 1 with one fatal log line when the database does not answer at start, its password never written', { timeout: 30_000 }, async () => {
    // Nothing listens on a port just found free: the driver's server selection gives up after 3 s.
    const [databasePort, port] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [SERVER], {
      env: {
        PATH: process.env['PATH'],
        NODE_ENV: 'production',
        BACKEND_HOST: '127.0.0.1',
        BACKEND_PORT: String(port),
        MONGODB_URI: `mongodb://analytics:hunter2-password@127.0.0.1:${String(databasePort)}/`,
        MONGODB_DATABASE: 'unreachable',
        INTERNAL_API_KEY: 'k'.repeat(40),
        JWT_SECRET: 'j'.repeat(40),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const drained = new Promise((resolve) => child.once('close', resolve));

    expect(await exitCode(child)).toBe(1);
    await drained;
    // Not Node's dump of an uncaught error (the stack, then the driver's whole topology).
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string; err?: { type: string } });
    expect(lines.filter((line) => line.level >= 50)).toEqual([expect.objectContaining({ level: 60, msg: 'could not start', err: expect.objectContaining({ type: 'MongoServerSelectionError' }) as unknown })]);
    expect(stdout).not.toContain('hunter2');
  });
});
