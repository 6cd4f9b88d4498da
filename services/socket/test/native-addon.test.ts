import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INTERNAL_API_KEY, REPO } from './harness.js';

describe('the uWebSockets.js native addon', () => {
  const run = (extraEnv: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [join(REPO, 'services/socket/dist/main.js')], {
      env: {
        ...process.env,
        SOCKET_PORT: '0',
        BACKEND_API_URL: 'http://127.0.0.1:9',
        INTERNAL_API_KEY,
        ...extraEnv,
      },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('is required: on the fork\'s slow JavaScript fallback the server refuses to start', () => {
    const result = run({ UWS_USE_FALLBACK: '1' });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/native addon did not load.*refusing to run on the slow fallback/);
  });

  it('names every bad variable instead of starting with a broken configuration', () => {
    const result = run({ SAMPLES_PER_SNAPSHOT: '13', BACKEND_API_URL: 'not a url', INTERNAL_API_KEY: 'short' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/socket server: invalid configuration/);
    for (const name of ['SAMPLES_PER_SNAPSHOT', 'BACKEND_API_URL', 'INTERNAL_API_KEY']) expect(result.stderr).toContain(name);
    expect(result.stderr).not.toContain('short');
  });
});
