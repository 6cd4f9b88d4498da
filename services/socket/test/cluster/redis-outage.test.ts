import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { findRedisServer, startRedisServer, type RedisInstance } from '@viewer-analytics/redisdb';
import { Redis } from 'ioredis';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  SocketProcess} from '../harness.js';
import {
  BackendProcess,
  freePort,
  liveUrl,
  stopSocketProcesses,
  TestDatabase,
  Viewer,
  waitFor,
  windowEnv,
  type SnapshotDocument,
} from '../harness.js';
import { clusterEnv, startOnSharedPort } from './cluster-stack.js';

const PREFIX = 'redis-outage-test:';
const SAMPLE_MS = 1_000;
const SAMPLES = 3;
const WINDOW_MS = SAMPLE_MS * SAMPLES;
const ENV = clusterEnv(PREFIX, { sampleMs: SAMPLE_MS, samples: SAMPLES });
const IDS = ['slot-0', 'slot-1', 'slot-2'] as const;
type ProcessId = (typeof IDS)[number];
type AuctionKey = 'a' | 'b';
/** Viewers each process must hold of each auction before the outage, so that a join shows where it landed. */
const MIN_VIEWERS: Record<AuctionKey, number> = { a: 2, b: 1 };
const MAX_VIEWERS = 40;
const OUTAGE_MS = 20_000;
const JOINS_DURING_OUTAGE: readonly AuctionKey[] = ['a', 'a', 'a', 'b', 'a', 'a', 'b', 'a'];
/** The bars: every process says it is not ready within this of Redis dying ... */
const NOT_READY_BOUND_MS = 5_000;
/** ... and, once Redis is back, every viewer sees the global count and every process is ready within this. */
const CONVERGE_BOUND_MS = 10_000;

interface Tracked {
  readonly viewer: Viewer;
  readonly auction: AuctionKey;
  readonly processId: ProcessId;
  readonly duringOutage: boolean;
  closedAt?: number;
}

/** What one process said on one connection: its /metrics, then its /ready. */
interface Probe {
  readonly startedSeconds: number;
  readonly degraded: number;
  readonly leader: number;
  readonly ready: number;
  readonly readyBody: string;
}

/**
 * The acceptance test of docs/scaling.md's "Redis unreachable" and "Redis restarted empty": Redis
 * SIGKILLed for 20 s under three socket processes sharing one port (SO_REUSEPORT), then started
 * again, empty, on the same port. The kernel picks each viewer's process: viewers open one at a
 * time before the outage and the process whose hash grew is theirs; a join during the outage is
 * placed by which process's viewers see it. /metrics and /ready are asked on one connection, so
 * that the /metrics start time says which process answered /ready.
 */
describe('a Redis outage under three socket processes on one port', () => {
  const database = new TestDatabase(import.meta.filename);
  let redisPort: number;
  let redis: RedisInstance | undefined;
  let admin: Redis | undefined;
  let backend: BackendProcess;
  let port: number;
  const tracked: Tracked[] = [];
  /** The /ready watcher of the outage runs while this is true. */
  const watching = { on: false };

  beforeAll(async () => {
    redisPort = await freePort();
    redis = await startRedisOn(redisPort);
    backend = new BackendProcess(await freePort(), database.name, windowEnv(ENV));
    await backend.start();
    port = await freePort();
  });
  afterEach(async () => {
    watching.on = false;
    await Promise.all(tracked.splice(0).map(({ viewer }) => viewer.close()));
    await stopSocketProcesses();
  });
  afterAll(async () => {
    admin?.disconnect();
    await backend.stop();
    await redis?.stop();
    await database.close();
  });

  /** A redis-server of this test's own, on a fixed port, so that it can be killed and started again where it was. */
  async function startRedisOn(redisPort: number): Promise<RedisInstance> {
    const binary = findRedisServer(process.env['PATH']);
    if (binary === undefined) throw new Error('this test kills and restarts a local redis-server: install it (apt-get install -y redis-server)');
    return startRedisServer({ binary, dataDir: undefined, log: () => undefined, port: redisPort });
  }

  const redisUrl = (): string => `redis://127.0.0.1:${String(redisPort)}`;

  const socketProcess = (processId: ProcessId): Promise<SocketProcess> =>
    startOnSharedPort(port, backend.url, { ...ENV, REDIS_URL: redisUrl(), SOCKET_PROCESS_ID: processId });

  /** Each process's own viewers of the auction, as its hash in Redis holds them. */
  async function hashCounts(auctionId: string): Promise<Record<ProcessId, number>> {
    const counts = await Promise.all(IDS.map(async (id) => Number((await admin!.hget(`${PREFIX}counts:${id}`, auctionId)) ?? 0)));
    return Object.fromEntries(IDS.map((id, i) => [id, counts[i]!])) as Record<ProcessId, number>;
  }

  function track(viewer: Viewer, auction: AuctionKey, processId: ProcessId, duringOutage: boolean): Tracked {
    const entry: Tracked = { viewer, auction, processId, duringOutage };
    void viewer.closed.then(() => {
      entry.closedAt = Date.now();
    });
    tracked.push(entry);
    return entry;
  }

  /**
   * The process behind one fresh connection to the shared port: its /metrics (whose start time
   * tells the processes apart), then its /ready on the same connection. Undefined when the server
   * did not keep the connection open for the second request (then another process may have answered).
   */
  async function probe(): Promise<Probe | undefined> {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const metrics = await get(agent, port, '/metrics');
      const ready = await get(agent, port, '/ready');
      if (!ready.reused) return undefined;
      const families = new Map(parsePrometheusTextFormat(metrics.body).map((family) => [family.name, family]));
      const value = (name: string): number => Number(families.get(name)?.metrics[0]?.value ?? NaN);
      return {
        startedSeconds: value('process_start_time_seconds'),
        degraded: value('socket_cluster_degraded'),
        leader: value('socket_cluster_leader'),
        ready: ready.status,
        readyBody: ready.body,
      };
    } finally {
      agent.destroy();
    }
  }

  it(
    'keeps every process and viewer through 20 s without Redis, converges within the bar once it is back, and stores no window twice',
    { timeout: 120_000 },
    async () => {
      const testStart = Date.now();
      admin = new Redis(redisUrl());

      // Start times (whole seconds) tell the processes apart in /metrics: spawned 2 s apart, each
      // reports a time nearer its own spawn than any other's.
      const processes = new Map<ProcessId, SocketProcess>();
      const spawnedAt = new Map<ProcessId, number>();
      for (const id of IDS) {
        await sleep(Math.max(0, ...[...spawnedAt.values()].map((t) => t + 2_000 - Date.now())));
        spawnedAt.set(id, Date.now());
        processes.set(id, await socketProcess(id));
      }
      const whose = (found: Probe): ProcessId | undefined => {
        let nearest: ProcessId | undefined;
        for (const [id, t] of spawnedAt) {
          const distance = Math.abs(t / 1000 - found.startedSeconds);
          if (distance < 1 && (nearest === undefined || distance < Math.abs(spawnedAt.get(nearest)! / 1000 - found.startedSeconds))) nearest = id;
        }
        return nearest;
      };
      const exits: string[] = [];
      for (const [id, service] of processes) {
        void service.exited.then((code) => {
          exits.push(`${id} exited with ${String(code)} at ${String(Date.now() - testStart)} ms`);
        });
      }

      const auctions: Record<AuctionKey, string> = { a: await database.createAuction(), b: await database.createAuction() };

      // Viewers open one at a time: the process whose hash grew is the one the kernel gave it.
      for (const auction of ['a', 'b'] as const) {
        const onEach = (): number[] => IDS.map((id) => tracked.filter((t) => t.auction === auction && t.processId === id).length);
        while (onEach().some((n) => n < MIN_VIEWERS[auction])) {
          if (tracked.length >= MAX_VIEWERS) throw new Error(`${String(MAX_VIEWERS)} viewers and still not ${String(MIN_VIEWERS[auction])} on every process: ${onEach().join(' / ')}`);
          const hashesBefore = await hashCounts(auctions[auction]);
          const viewer = new Viewer(liveUrl({ url: `ws://127.0.0.1:${String(port)}` }, auctions[auction]));
          await viewer.opened;
          let hashesAfter = hashesBefore;
          await waitFor(
            async () => {
              hashesAfter = await hashCounts(auctions[auction]);
              return IDS.reduce((sum, id) => sum + hashesAfter[id] - hashesBefore[id], 0) === 1;
            },
            5_000,
            'the new viewer in a hash',
          );
          track(viewer, auction, IDS.find((id) => hashesAfter[id] === hashesBefore[id] + 1)!, false);
        }
      }
      const before: Record<AuctionKey, number> = {
        a: tracked.filter((t) => t.auction === 'a').length,
        b: tracked.filter((t) => t.auction === 'b').length,
      };
      const perProcess = (auction: AuctionKey): string => IDS.map((id) => tracked.filter((t) => t.auction === auction && t.processId === id).length).join(' / ');
      console.info(`before the outage: auction a ${String(before.a)} viewers (${perProcess('a')}), auction b ${String(before.b)} (${perProcess('b')}) on ${IDS.join(' / ')}`);

      /** Joins made during the outage, per process and auction: what each process alone knows of. */
      const joined: Record<ProcessId, Record<AuctionKey, number>> = Object.fromEntries(IDS.map((id) => [id, { a: 0, b: 0 }])) as Record<ProcessId, Record<AuctionKey, number>>;
      const total = (auction: AuctionKey): number => before[auction] + IDS.reduce((sum, id) => sum + joined[id][auction], 0);
      /** During the outage: the process's own live count plus the others' frozen at the outage's start. */
      const ownView = (id: ProcessId, auction: AuctionKey): number => before[auction] + joined[id][auction];
      const open = (): Tracked[] => tracked.filter((t) => t.closedAt === undefined);
      const allSee = (expected: (t: Tracked) => number): boolean => tracked.every((t) => t.viewer.count === expected(t));
      const mismatches = (expected: (t: Tracked) => number): string =>
        tracked
          .filter((t) => t.viewer.count !== expected(t))
          .map((t) => `${t.processId}/${t.auction}: ${String(t.viewer.count)} instead of ${String(expected(t))}${t.closedAt === undefined ? '' : ' (closed)'}`)
          .join(', ') || 'none';

      await waitFor(() => allSee((t) => total(t.auction)), 5_000, () => `every viewer to see the global count: ${mismatches((t) => total(t.auction))}`);

      // A window stored with the whole cluster's steady count before the outage: the baseline.
      const steady = (auction: AuctionKey) => (s: SnapshotDocument) =>
        s.sampleCount === SAMPLES && s.minViewers === before[auction] && s.peakViewers === before[auction];
      await waitFor(
        async () => (await database.snapshots(auctions.a)).some(steady('a')) && (await database.snapshots(auctions.b)).some(steady('b')),
        3 * WINDOW_MS + 10_000,
        'a window with the steady global count stored before the outage',
      );
      // Every process answers on the shared port, ready, and is told apart from the others.
      const seenReady = new Map<ProcessId, number>();
      await waitFor(
        async () => {
          const found = await probe();
          const id = found === undefined ? undefined : whose(found);
          if (found !== undefined && id !== undefined && found.ready === 200 && found.degraded === 0) seenReady.set(id, found.startedSeconds);
          return seenReady.size === IDS.length;
        },
        10_000,
        () => `every process to answer /ready 200 before the outage (so far: ${[...seenReady.keys()].join(', ') || 'none'})`,
      );
      expect(new Set(seenReady.values()).size).toBe(IDS.length);
      let leaderBefore: string | undefined;
      await waitFor(async () => (leaderBefore = (await admin!.get(`${PREFIX}leader`))?.split(':')[0]) !== undefined, 10_000, 'a leader');

      // --- Redis dies: SIGKILL, no persistence, so it comes back empty.
      admin.disconnect();
      admin = undefined;
      const updatesAtKill = new Map(tracked.map((t) => [t, t.viewer.updates.length]));
      const killedAt = Date.now();
      process.kill(redis!.pid!, 'SIGKILL');
      await redis!.stop();
      redis = undefined;

      const firstUnready = new Map<ProcessId, number>();
      /** /ready answers seen during the outage, per process, once it had said 503. */
      const readyDuringOutage = new Map<ProcessId, number[]>(IDS.map((id) => [id, []]));
      const unreadyBodies = new Set<string>();
      let restartingAt = Infinity;
      watching.on = true;
      const watcher = (async () => {
        while (watching.on) {
          const askedAt = Date.now();
          const found = await probe().catch(() => undefined);
          const id = found === undefined ? undefined : whose(found);
          if (found !== undefined && id !== undefined && askedAt < restartingAt) {
            if (found.ready === 503 && found.degraded === 1 && !firstUnready.has(id)) {
              unreadyBodies.add(found.readyBody);
              firstUnready.set(id, Date.now() - killedAt);
            }
            if (firstUnready.has(id)) readyDuringOutage.get(id)!.push(found.ready);
          }
          await sleep(100);
        }
      })();
      await waitFor(() => firstUnready.size === IDS.length, NOT_READY_BOUND_MS + 10_000, () => `every process to answer /ready 503 (so far: ${[...firstUnready.keys()].join(', ') || 'none'})`);
      const notReadyMs = Math.max(...firstUnready.values());

      // Joins during the outage reach their own process's viewers, and only those.
      for (const auction of JOINS_DURING_OUTAGE) {
        const viewer = new Viewer(liveUrl({ url: `ws://127.0.0.1:${String(port)}` }, auctions[auction]));
        await viewer.opened;
        await waitFor(() => viewer.count !== undefined, 3_000, 'the joining viewer to be told a count');
        const told = viewer.count!;
        const candidates = IDS.filter((id) => ownView(id, auction) + 1 === told);
        expect(candidates, `a viewer joining auction ${auction} during the outage was told ${String(told)}; own views: ${IDS.map((id) => ownView(id, auction)).join(' / ')}`).not.toHaveLength(0);
        let landed: ProcessId | undefined;
        await waitFor(
          () => {
            const moved = candidates.filter((id) => tracked.filter((t) => t.auction === auction && t.processId === id).every((t) => t.viewer.count === told));
            landed = moved.length === 1 ? moved[0] : undefined;
            return landed !== undefined;
          },
          3_000,
          () => `the viewers of the process the join landed on to see ${String(told)}: ${mismatches((t) => ownView(t.processId, t.auction))}`,
        );
        joined[landed!][auction]++;
        track(viewer, auction, landed!, true);
        await waitFor(() => allSee((t) => ownView(t.processId, t.auction)), 3_000, () => `every viewer to see its own process's view: ${mismatches((t) => ownView(t.processId, t.auction))}`);
      }
      const joinsMadeBy = Date.now() - killedAt;

      // Until Redis comes back: nobody exits, nobody is cut off, and the others' counts stay frozen (never dropped).
      while (Date.now() - killedAt < OUTAGE_MS) {
        expect(exits).toEqual([]);
        expect(open()).toHaveLength(tracked.length);
        expect(mismatches((t) => ownView(t.processId, t.auction))).toBe('none');
        await sleep(250);
      }
      const lowest = { a: Infinity, b: Infinity };
      for (const t of tracked) {
        // From the count shown when Redis died (for viewers already there) to the last.
        for (const update of t.viewer.updates.slice(Math.max(0, (updatesAtKill.get(t) ?? 1) - 1))) lowest[t.auction] = Math.min(lowest[t.auction], update.count);
      }
      const endOfOutage = Object.fromEntries(IDS.map((id) => [id, { a: ownView(id, 'a'), b: ownView(id, 'b') }]));

      // --- Redis again, empty, on the same port.
      restartingAt = Date.now();
      redis = await startRedisOn(redisPort);
      const backAt = Date.now();
      await waitFor(
        () => allSee((t) => total(t.auction)),
        CONVERGE_BOUND_MS + 20_000,
        () => `every viewer to see the global count again: ${mismatches((t) => total(t.auction))}`,
      );
      const convergedMs = Date.now() - backAt;
      const readyAgain = new Map<ProcessId, number>();
      watching.on = false;
      await watcher;
      await waitFor(
        async () => {
          const found = await probe().catch(() => undefined);
          const id = found === undefined ? undefined : whose(found);
          if (found !== undefined && id !== undefined && found.ready === 200 && found.degraded === 0 && !readyAgain.has(id)) readyAgain.set(id, Date.now() - backAt);
          return readyAgain.size === IDS.length;
        },
        CONVERGE_BOUND_MS + 20_000,
        () => `every process to answer /ready 200 again (so far: ${[...readyAgain.keys()].join(', ') || 'none'})`,
      );
      const readyMs = Math.max(...readyAgain.values());
      admin = new Redis(redisUrl());
      let leaderAfter: string | undefined;
      await waitFor(async () => (leaderAfter = (await admin!.get(`${PREFIX}leader`))?.split(':')[0]) !== undefined, 15_000, 'a leader after the outage');

      // Windows wholly after convergence carry the global count; wait for two of them.
      const convergedAt = backAt + convergedMs;
      const firstWholeAfter = Math.ceil(convergedAt / WINDOW_MS) * WINDOW_MS;
      const lastAwaited = firstWholeAfter + WINDOW_MS;
      await waitFor(
        async () =>
          (await database.snapshots(auctions.a)).some((s) => s.timestamp.getTime() >= lastAwaited) &&
          (await database.snapshots(auctions.b)).some((s) => s.timestamp.getTime() >= lastAwaited),
        Math.max(0, lastAwaited + WINDOW_MS - Date.now()) + 20_000,
        'two windows after convergence to be stored',
      );
      expect(exits).toEqual([]);
      expect(open()).toHaveLength(tracked.length);

      // What was stored, window by window, relative to the outage.
      const sent = [...processes].map(([id, service]) => {
        const lines = service.logs.filter((line) => line.msg === 'analytics sent');
        const sum = (field: string): number => lines.reduce((n, line) => n + Number(line[field] ?? 0), 0);
        return { id, requests: lines.length, stored: sum('stored'), duplicates: sum('duplicates') };
      });
      const stored: Record<AuctionKey, SnapshotDocument[]> = { a: await database.snapshots(auctions.a), b: await database.snapshots(auctions.b) };
      const at = (ms: number): string => `${((ms - killedAt) / 1000).toFixed(1)} s`;
      const report = [
        `Redis SIGKILLed at 0 s (leader ${String(leaderBefore)}); every process answered /ready 503 after ${IDS.map((id) => `${id} ${String(firstUnready.get(id))} ms`).join(', ')}; /ready during the outage: ${IDS.map((id) => `${id} ${summarize(readyDuringOutage.get(id)!)}`).join(', ')}`,
        `${String(JOINS_DURING_OUTAGE.length)} joins during the outage (done by ${at(killedAt + joinsMadeBy)}): ${IDS.map((id) => `${id} a+${String(joined[id].a)} b+${String(joined[id].b)}`).join(', ')}; lowest count any viewer saw: a ${String(lowest.a)}, b ${String(lowest.b)} (before: a ${String(before.a)}, b ${String(before.b)})`,
        `at the end of the outage each process's viewers saw ${JSON.stringify(endOfOutage)}; global a ${String(total('a'))}, b ${String(total('b'))}`,
        `Redis started again (empty, same port) at ${at(backAt)}: every viewer saw the global count after ${String(convergedMs)} ms, every /ready 200 after ${String(readyMs)} ms; leader after: ${String(leaderAfter)}`,
        `analytics sent: ${sent.map((s) => `${s.id} ${String(s.requests)} requests, ${String(s.stored)} stored, ${String(s.duplicates)} duplicates`).join('; ')}`,
        ...(['a', 'b'] as const).map(
          (auction) =>
            `auction ${auction} windows (start relative to the kill: viewerCount avg/peak/min samples):\n` +
            stored[auction]
              .map((s) => {
                const start = s.timestamp.getTime();
                const phase = start + WINDOW_MS <= killedAt ? 'before' : start >= convergedAt ? 'after' : start < backAt ? 'outage' : 'recovery';
                return `  ${at(start).padStart(7)} ${phase.padEnd(8)} ${String(s.viewerCount)} ${String(s.avgViewers)}/${String(s.peakViewers)}/${String(s.minViewers)} ${String(s.sampleCount)}`;
              })
              .join('\n'),
        ),
        'cluster log lines (warn):',
        ...[...processes].flatMap(([id, service]) =>
          service.problems.filter((line) => typeof line['time'] === 'number' && line['time'] >= killedAt - 1_000).map((line) => `  ${at(line['time'] as number).padStart(7)} ${id}: ${line.msg}`),
        ),
      ];
      console.info(report.join('\n'));

      for (const auction of ['a', 'b'] as const) {
        const times = stored[auction].map((s) => s.timestamp.getTime());
        // No window twice, and none missing from the first stored to the last.
        expect(new Set(times).size).toBe(times.length);
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `gap after ${at(times[i - 1]!)} in auction ${auction}`).toBe(WINDOW_MS);
        // Windows wholly after convergence carry the global count.
        const after = stored[auction].filter((s) => s.timestamp.getTime() >= firstWholeAfter);
        expect(after.length).toBeGreaterThanOrEqual(2);
        for (const s of after) expect(s).toMatchObject({ viewerCount: total(auction), peakViewers: total(auction), minViewers: total(auction), sampleCount: SAMPLES });
      }

      expect([...unreadyBodies].map((body) => JSON.parse(body) as unknown)).toEqual([
        { success: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'redis unavailable' } },
      ]);
      expect(notReadyMs).toBeLessThanOrEqual(NOT_READY_BOUND_MS);
      // Once a process said 503 it kept saying it until Redis came back.
      for (const id of IDS) expect(readyDuringOutage.get(id)!.every((status) => status === 503), id).toBe(true);
      expect(convergedMs).toBeLessThanOrEqual(CONVERGE_BOUND_MS);
      expect(readyMs).toBeLessThanOrEqual(CONVERGE_BOUND_MS);
    },
  );
});

/** Counts of each status, e.g. "503×41". */
function summarize(statuses: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${String(status)}×${String(n)}`).join(' ') || 'none';
}

/** GET on the agent's one connection; `reused` says whether the request went over an earlier request's connection. */
function get(agent: Agent, port: number, path: string): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket });
      });
      res.on('error', reject);
    });
    req.setTimeout(5_000, () => {
      req.destroy(new Error(`${path} unanswered for 5 s`));
    });
    req.on('error', reject);
    req.end();
  });
}
