import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '@viewer-analytics/redisdb';
import { configurationGaps, freePort, isAlive, waitFor } from '@viewer-analytics/testkit';
import { listensOn } from '../src/listening.js';
import { slotEnv, slotOutboxFile, socketProcessCount } from '../src/socket-slots.js';
import { ProcessSupervisor, type Backoff, type SupervisorOptions } from '../src/socket-supervisor.js';

const REPO = join(import.meta.dirname, '../../..');

/**
 * The supervised stand-in: notes its slot and pid in STARTS_FILE, then, by MODE, exits at once
 * with 3 (every start, or every start after its slot's first), lives LIFE_MS and exits with 4, or
 * stays until it is signalled.
 */
const SCRIPT = `
import { appendFileSync, readFileSync } from 'node:fs';
const file = process.env.STARTS_FILE;
const slot = process.env.SLOT;
appendFileSync(file, slot + ' ' + process.pid + '\\n');
const earlier = readFileSync(file, 'utf8').split('\\n').filter((line) => line.startsWith(slot + ' ')).length - 1;
const mode = process.env.MODE ?? 'stay';
if (mode === 'exit-at-once' || (mode === 'crash-after-first' && earlier > 0)) process.exit(3);
const lifeMs = Number(process.env.LIFE_MS ?? '0');
if (lifeMs > 0) setTimeout(() => process.exit(4), lifeMs);
else setInterval(() => undefined, 1 << 30);
`;

describe('the process supervisor', () => {
  let dir: string;
  let script: string;
  let startsFile: string;
  const supervisors: ProcessSupervisor[] = [];
  let logs: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'supervisor-'));
    script = join(dir, 'child.mjs');
    writeFileSync(script, SCRIPT);
  });
  afterEach(async () => {
    await Promise.all(supervisors.splice(0).map((supervisor) => supervisor.stop()));
    // Whatever a failed test left: no process outlives the test.
    const left = startedPids().filter(isAlive);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    expect(left).toEqual([]);
    logs = [];
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every [slot, pid] the children have noted, in start order. */
  function starts(): [number, number][] {
    if (!existsSync(startsFile)) return [];
    return readFileSync(startsFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split(' ').map(Number) as [number, number]);
  }
  const startedPids = (): number[] => starts().map(([, pid]) => pid);

  function supervise(count: number, childEnv: NodeJS.ProcessEnv, backoff: Backoff, options: Partial<SupervisorOptions> = {}): ProcessSupervisor {
    startsFile = join(mkdtempSync(join(dir, 'run-')), 'starts');
    const supervisor = new ProcessSupervisor({
      name: 'worker',
      count,
      script,
      env: (slot) => ({ ...process.env, ...childEnv, SLOT: String(slot), STARTS_FILE: startsFile }),
      // Noted in the file: it runs.
      ready: (pid) => startedPids().includes(pid),
      log: (message) => logs.push(message),
      backoff,
      ...options,
    });
    supervisors.push(supervisor);
    return supervisor;
  }

  /** The delays of "restarting it in N ms" lines, in order. */
  const delays = (): number[] => logs.flatMap((line) => /restarting it in (\d+) ms$/.exec(line)?.[1] ?? []).map(Number);

  it('starts N copies; one killed with SIGKILL is logged and restarted in its slot after the backoff; stop() ends them all', async () => {
    const supervisor = supervise(3, {}, { firstMs: 300, maxMs: 1_000, healthyAfterMs: 60_000 });
    await supervisor.start(10_000);
    const pids = [1, 2, 3].map((slot) => supervisor.pid(slot));
    expect(pids.every((pid) => pid !== undefined && isAlive(pid))).toBe(true);
    expect(new Set(pids).size).toBe(3);

    const killed = pids[1]!;
    const killedAt = performance.now();
    process.kill(killed, 'SIGKILL');
    await waitFor(() => supervisor.pid(2) !== undefined && supervisor.pid(2) !== killed, 5_000, 'worker 2 to be restarted');
    const restartedAfterMs = performance.now() - killedAt;
    const restarted = supervisor.pid(2)!;

    expect(restartedAfterMs).toBeGreaterThanOrEqual(290);
    expect(logs).toContainEqual(expect.stringMatching(new RegExp(`^worker 2 \\(pid ${String(killed)}\\) exited unexpectedly \\(signal SIGKILL\\) after .+; restarting it in 300 ms$`)));
    expect(logs).toContain(`worker 2 restarted (pid ${String(restarted)})`);
    // The same slot's environment again; the other slots untouched.
    await waitFor(() => starts().length === 4, 5_000, 'the new worker to note its start');
    expect(starts().map(([slot]) => slot).slice(0, 3).sort()).toEqual([1, 2, 3]);
    expect(starts()[3]).toEqual([2, restarted]);
    expect([supervisor.starts(1), supervisor.starts(2), supervisor.starts(3)]).toEqual([1, 2, 1]);
    expect([supervisor.pid(1), supervisor.pid(3)]).toEqual([pids[0], pids[2]]);

    await supervisor.stop();
    expect(startedPids().filter(isAlive)).toEqual([]);
    // A stop is not a crash: nothing is logged or restarted after it.
    const logged = logs.length;
    await sleep(500);
    expect(logs.length).toBe(logged);
    expect(startedPids().filter(isAlive)).toEqual([]);
  });

  it('backs a crash loop off (doubling up to the cap), and a stop cancels the restart it was waiting for', async () => {
    const supervisor = supervise(1, { MODE: 'crash-after-first' }, { firstMs: 100, maxMs: 800, healthyAfterMs: 60_000 });
    await supervisor.start(10_000);
    process.kill(supervisor.pid(1)!, 'SIGKILL');
    const killedAt = performance.now();

    await sleep(3_000);
    // Restarts are due at 0.1, 0.3, 0.7, 1.5, 2.3 and 3.1 s (plus each start's own time); with
    // no backoff a process that exits at once would have been started hundreds of times.
    const restarts = supervisor.starts(1) - 1;
    console.info(`a crash loop restarted ${String(restarts)} times in ${((performance.now() - killedAt) / 1000).toFixed(1)} s: delays ${delays().join(', ')} ms`);
    expect(restarts).toBeGreaterThanOrEqual(3);
    expect(restarts).toBeLessThanOrEqual(6);
    expect(delays().length).toBeGreaterThanOrEqual(4);
    expect(delays()).toEqual([100, 200, 400, 800, 800, 800, 800].slice(0, delays().length));
    // Every restarted process died at once and was logged (the newest may still be starting).
    expect(logs.filter((line) => line.includes('exited unexpectedly (exit code 3)')).length).toBeGreaterThanOrEqual(restarts - 1);

    // Now waiting 800 ms for the next restart: a stop cancels it.
    await supervisor.stop();
    const startsAtStop = supervisor.starts(1);
    await sleep(1_200);
    expect(supervisor.starts(1)).toBe(startsAtStop);
    expect(startedPids().filter(isAlive)).toEqual([]);
  });

  it('starts over from the first delay after a healthy run', async () => {
    // Every process lives 600 ms, longer than the 300 ms that count as healthy.
    const supervisor = supervise(1, { LIFE_MS: '600' }, { firstMs: 100, maxMs: 800, healthyAfterMs: 300 });
    await supervisor.start(10_000);
    await waitFor(() => delays().length >= 4, 10_000, 'four restarts');
    expect(delays().slice(0, 4)).toEqual([100, 100, 100, 100]);
    expect(logs[0]).toMatch(/^worker 1 \(pid \d+\) exited unexpectedly \(exit code 4\) after \d+ ms; restarting it in 100 ms$/);
  });

  it('fails the start, without restarting, when a process dies before every slot is ready', async () => {
    // Never ready: a process noting its start and then exiting at once must not count as ready first.
    const supervisor = supervise(2, { MODE: 'exit-at-once' }, { firstMs: 100, maxMs: 800, healthyAfterMs: 60_000 }, { ready: () => false });
    await expect(supervisor.start(10_000)).rejects.toThrow(/^worker [12] \(pid \d+\) exited during start-up \(exit code 3\)/);
    await sleep(400);
    expect([supervisor.starts(1), supervisor.starts(2)]).toEqual([1, 1]);
    await supervisor.stop();
    expect(startedPids().filter(isAlive)).toEqual([]);
  });
});

describe('the socket processes of SOCKET_PROCESSES', () => {
  it('is the start command\'s variable in .env.example, with a row in docs/configuration.md', () => {
    expect(configurationGaps(REPO, ['start command (npm start)'], ['SOCKET_PROCESSES'])).toEqual({ notRead: [], notListed: [], undocumented: [] });
  });

  it('takes 1 to 64, 1 when unset or empty, and refuses anything else with a clear message', () => {
    expect(socketProcessCount({})).toBe(1);
    expect(socketProcessCount({ SOCKET_PROCESSES: '' })).toBe(1);
    expect(socketProcessCount({ SOCKET_PROCESSES: '1' })).toBe(1);
    expect(socketProcessCount({ SOCKET_PROCESSES: ' 3 ' })).toBe(3);
    expect(socketProcessCount({ SOCKET_PROCESSES: '64', SOCKET_PORT: '8081' })).toBe(64);
    for (const bad of ['0', '65', '-1', '2.5', '1e1', 'three', '0x10', '1000']) {
      expect(() => socketProcessCount({ SOCKET_PROCESSES: bad })).toThrow(`SOCKET_PROCESSES must be an integer from 1 to 64 (it is "${bad}")`);
    }
    expect(() => socketProcessCount({ SOCKET_PROCESSES: '2', SOCKET_PORT: '0' })).toThrow('needs a fixed SOCKET_PORT');
    expect(socketProcessCount({ SOCKET_PROCESSES: '1', SOCKET_PORT: '0' })).toBe(1);
  });

  it('gives each slot its own outbox file and a process id naming the slot', () => {
    expect(slotOutboxFile('/repo/.data/socket-outbox.bin', 2)).toBe('/repo/.data/socket-outbox-2.bin');
    expect(slotOutboxFile('outbox', 3)).toBe('outbox-3');
    const env = slotEnv({ SOCKET_PORT: '8081', SOCKET_PROCESS_ID: 'from-env' }, 2, 'box', 'redis://127.0.0.1:6380', '/d/socket-outbox.bin');
    expect(env).toEqual({ SOCKET_PORT: '8081', SOCKET_PROCESS_ID: 'box:2', REDIS_URL: 'redis://127.0.0.1:6380', OUTBOX_FILE: '/d/socket-outbox-2.bin' });
  });
});

/** One HTTP request on a connection of its own: the kernel picks which process of the port answers. */
function fetchFresh(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        resolve(body);
      });
    }).on('error', reject);
  });
}

describe('three real socket servers under the supervisor', () => {
  const prefix = `launcher-test-${String(process.pid)}:`;
  let redis: RedisInstance;
  let admin: Redis;
  let dir: string;
  let supervisor: ProcessSupervisor | undefined;
  const logs: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    dir = mkdtempSync(join(tmpdir(), 'supervised-sockets-'));
  });
  afterAll(async () => {
    await supervisor?.stop();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listen on one port as slots host:1…3 of one cluster; a SIGKILLed one comes back under its id; stop() leaves nothing', async () => {
    const port = await freePort();
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'test',
      SOCKET_HOST: '127.0.0.1',
      SOCKET_PORT: String(port),
      // Nothing listens there: the servers start without a backend (only /ready says so).
      BACKEND_API_URL: `http://127.0.0.1:${String(await freePort())}`,
      INTERNAL_API_KEY: 'launcher-test-internal-key-0123456789',
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    };
    const outboxFile = join(dir, 'outbox.bin');
    supervisor = new ProcessSupervisor({
      name: 'socket server',
      count: 3,
      script: join(REPO, 'services/socket/dist/main.js'),
      env: (slot) => slotEnv(base, slot, 'test-host', redis.url, outboxFile),
      ready: (pid) => listensOn(pid, port),
      log: (message) => logs.push(message),
      backoff: { firstMs: 200, maxMs: 1_000, healthyAfterMs: 60_000 },
    });
    await supervisor.start(30_000);
    const pids = [1, 2, 3].map((slot) => supervisor?.pid(slot) ?? 0);
    expect(new Set(pids).size).toBe(3);
    expect(pids.map((pid) => listensOn(pid, port))).toEqual([true, true, true]);
    expect([1, 2, 3].map((slot) => existsSync(join(dir, `outbox-${String(slot)}.bin`)))).toEqual([true, true, true]);

    // One cluster: every slot has its hash under its own id, and a process hears the two others.
    const hashes = async (): Promise<string[]> => (await admin.keys(`${prefix}counts:*`)).sort();
    await waitFor(async () => (await hashes()).length === 3, 10_000, 'three hashes in Redis');
    expect(await hashes()).toEqual([1, 2, 3].map((slot) => `${prefix}counts:test-host:${String(slot)}`));
    await waitFor(async () => (await fetchFresh(`http://127.0.0.1:${String(port)}/metrics`)).includes('socket_cluster_peers_alive 2'), 10_000, 'a process to hear two peers');

    const epochs = async (): Promise<number[]> => (await admin.mget([1, 2, 3].map((slot) => `${prefix}epoch:test-host:${String(slot)}`))).map(Number);
    const epochsBefore = await epochs();
    const killed = pids[1]!;
    process.kill(killed, 'SIGKILL');
    await waitFor(
      () => {
        const pid = supervisor?.pid(2);
        return pid !== undefined && pid !== killed && listensOn(pid, port);
      },
      15_000,
      'socket server 2 to listen again',
    );
    expect(logs.join('\n')).toMatch(new RegExp(`socket server 2 \\(pid ${String(killed)}\\) exited unexpectedly \\(signal SIGKILL\\)`));
    // Same id, next epoch: it replaced its predecessor instead of joining beside it.
    const [first, second, third] = epochsBefore;
    const after = await epochs();
    expect([after[0], after[2]]).toEqual([first, third]);
    expect(after[1]).toBeGreaterThan(second!);
    expect(await hashes()).toHaveLength(3);

    const all = [...pids, supervisor.pid(2)!];
    await supervisor.stop();
    expect(all.filter(isAlive)).toEqual([]);
    // A graceful stop: each process left the cluster and took its hash along.
    expect(await hashes()).toEqual([]);
    expect(await fetchFresh(`http://127.0.0.1:${String(port)}/health`).then(() => 'answered', () => 'refused')).toBe('refused');
  }, 60_000);
});
