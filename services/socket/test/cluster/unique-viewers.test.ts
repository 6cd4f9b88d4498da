import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { VisitorSketch } from '@viewer-analytics/shared';
import { freePort, liveUrl, SocketProcess, Viewer, waitFor, type SnapshotDocument } from '../harness.js';
import { clusterEnv, useClusterStack, waitForLeader } from './cluster-stack.js';

const PREFIX = 'uniques-test:';
/** Two long samples: the joins have most of a second to reach both processes before the first one. */
const SAMPLE_MS = 1_000;
const SAMPLES = 2;
const WINDOW_MS = SAMPLE_MS * SAMPLES;
const ENV = clusterEnv(PREFIX, { sampleMs: SAMPLE_MS, samples: SAMPLES });
const DAY_MS = 86_400_000;

describe('unique viewers over two socket processes sharing Redis', () => {
  const viewers: Viewer[] = [];
  const stack = useClusterStack(import.meta.filename, ENV, async () => {
    await Promise.all(viewers.splice(0).map((viewer) => viewer.close()));
  });
  const { database } = stack;

  async function connect(service: SocketProcess, auctionId: string, userAgent: string): Promise<void> {
    const viewer = new Viewer(liveUrl(service, auctionId), { 'user-agent': userAgent });
    viewers.push(viewer);
    await viewer.opened;
  }

  /** The counts each viewer was sent, in the order they connected (the leader's first), for a wait that times out. */
  const seen = (): string => viewers.map((viewer) => `[${viewer.updates.map((update) => update.count).join(' ')}]`).join(', ');

  async function storedWindow(auctionId: string, start: number): Promise<SnapshotDocument> {
    let found: SnapshotDocument | undefined;
    await waitFor(async () => {
      found = (await database.snapshots(auctionId)).find(({ timestamp }) => timestamp.getTime() === start);
      return found !== undefined;
    }, 15_000, `the window of ${new Date(start).toISOString()} stored`);
    return found as SnapshotDocument;
  }

  it('one browser with three tabs on two processes and two other viewers on the follower: 3 unique viewers in the leader\'s windows', { timeout: 60_000 }, async () => {
    const processes = new Map<string, SocketProcess>();
    for (const id of ['a', 'b']) {
      const service = new SocketProcess(await freePort(), stack.backend.url, { ...ENV, REDIS_URL: stack.redis.url, SOCKET_PROCESS_ID: id });
      await service.start();
      processes.set(id, service);
    }
    const leaderId = await waitForLeader(stack.admin, PREFIX);
    const leader = processes.get(leaderId)!;
    const follower = [...processes.values()].find((service) => service !== leader)!;
    const auctionId = await database.createAuction();

    // Just after a window starts, before its first sample: everyone is in each of its samples.
    const first = (Math.floor(Date.now() / WINDOW_MS) + 1) * WINDOW_MS;
    await sleep(first - Date.now() + 50);
    // The leader sees one tab of Browser A alone: its own share of the window would be 1 visitor.
    await connect(leader, auctionId, 'Browser A');
    await connect(follower, auctionId, 'Browser A');
    await connect(follower, auctionId, 'Browser A');
    await connect(follower, auctionId, 'Browser B');
    await connect(follower, auctionId, 'Browser C');
    await waitFor(() => viewers.every((viewer) => viewer.count === 5), first + SAMPLE_MS - 50 - Date.now(), () => `every viewer to see 5 before the window's first sample (they saw ${seen()})`);
    await sleep(first + 2 * WINDOW_MS - Date.now() + 50);
    await Promise.all(viewers.splice(0).map((viewer) => viewer.close()));

    // The first window from the joins, the next from the viewers still connected when it opened.
    for (const start of [first, first + WINDOW_MS]) {
      const window = await storedWindow(auctionId, start);
      expect(window).toMatchObject({ peakViewers: 5, minViewers: 5, uniqueViewers: 3 });
      expect(VisitorSketch.fromBytes(window.visitors?.buffer ?? new Uint8Array()).estimate()).toBe(3);
    }
    const sent = (service: SocketProcess): number => service.logs.filter((line) => line.msg === 'analytics sent').length;
    expect(sent(leader)).toBeGreaterThan(0);
    expect(sent(follower)).toBe(0);

    // What was shared shows in /metrics: the follower's visitor keys (A, B, C) reached the leader, none lost.
    const counters = async (service: SocketProcess): Promise<number[]> => {
      const text = await (await fetch(`http://127.0.0.1:${String(service.port)}/metrics`)).text();
      return ['published', 'received', 'late', 'lost'].map((name) => Number(new RegExp(`^socket_cluster_visitor_entries_${name}_total (\\d+)$`, 'm').exec(text)?.[1]));
    };
    const [followerPublished, , followerLate, followerLost] = await counters(follower);
    const [, leaderReceived, leaderLate, leaderLost] = await counters(leader);
    expect(followerPublished).toBeGreaterThanOrEqual(3);
    expect(leaderReceived).toBeGreaterThanOrEqual(3);
    expect([followerLost, leaderLost]).toEqual([0, 0]);
    expect([followerLate, leaderLate].every(Number.isInteger)).toBe(true); // exported; how many depends on timing

    // One salt of 32 bytes for the day, in Redis until a minute after the day ends.
    const key = `${PREFIX}salt:${new Date().toISOString().slice(0, 10)}`;
    expect(await stack.admin.getBuffer(key)).toHaveLength(32);
    const expiresAt = Date.now() + (await stack.admin.pttl(key));
    const endOfDay = (Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS;
    expect(expiresAt).toBeGreaterThan(endOfDay);
    expect(expiresAt).toBeLessThanOrEqual(endOfDay + 61_000);
  });

  it('counts every viewer still connected again once Redis answers after a pause longer than a window, and never more meanwhile', { timeout: 60_000 }, async () => {
    // A cluster of its own: the previous test's leader may still hold its lease.
    const prefix = `${PREFIX}pause:`;
    const processes = new Map<string, SocketProcess>();
    for (const id of ['a', 'b']) {
      const service = new SocketProcess(await freePort(), stack.backend.url, { ...ENV, REDIS_KEY_PREFIX: prefix, REDIS_URL: stack.redis.url, SOCKET_PROCESS_ID: id });
      await service.start();
      processes.set(id, service);
    }
    const leader = processes.get(await waitForLeader(stack.admin, prefix))!;
    const follower = [...processes.values()].find((service) => service !== leader)!;
    const auctionId = await database.createAuction();
    await connect(leader, auctionId, 'Browser A');
    await connect(follower, auctionId, 'Browser A');
    await connect(follower, auctionId, 'Browser B');
    await connect(follower, auctionId, 'Browser C');
    await waitFor(() => viewers.every((viewer) => viewer.count === 4), 5_000, () => `every viewer to see 4 (they saw ${seen()})`);

    // Every client of Redis waits for PAUSE_MS: the processes' shared visitor keys of those windows are late or lost.
    const PAUSE_MS = 2 * WINDOW_MS + 500;
    const pausedAt = Date.now();
    await stack.admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
    // A window for the processes to hear one another again, then two whole windows.
    const firstAfter = (Math.floor((pausedAt + PAUSE_MS) / WINDOW_MS) + 2) * WINDOW_MS;
    await sleep(firstAfter + 2 * WINDOW_MS - Date.now() + 500);

    for (const start of [firstAfter, firstAfter + WINDOW_MS]) {
      expect(await storedWindow(auctionId, start)).toMatchObject({ peakViewers: 4, minViewers: 4, uniqueViewers: 3 });
    }
    // Through the pause a window may miss the other process's visitors, never count one twice or invent one.
    const stored = (await database.snapshots(auctionId)).filter(({ timestamp }) => timestamp.getTime() < firstAfter);
    expect(stored.length).toBeGreaterThan(0);
    for (const window of stored) {
      expect(window.uniqueViewers).toBeGreaterThanOrEqual(1);
      expect(window.uniqueViewers).toBeLessThanOrEqual(3);
    }
  });
});
