import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { freePort, liveUrl, SocketProcess, Viewer, waitFor } from '../harness.js';
import { clusterEnv, useClusterStack, waitForLeader } from './cluster-stack.js';

const PREFIX = 'snapshots-test:';
const SAMPLE_MS = 2_000;
const SAMPLES = 3;
const WINDOW_MS = SAMPLE_MS * SAMPLES;
const ENV = clusterEnv(PREFIX, { sampleMs: SAMPLE_MS, samples: SAMPLES });
/** Changes are made this long after a sample mark, and must have reached every process before the next one. */
const STEP_AFTER_MARK_MS = 400;
const STEP_DEADLINE_MS = SAMPLE_MS - 300;

type Role = 'leader' | 'first' | 'second';
/** Viewers joining (positive) or leaving (negative) each process, one step per sample interval. */
const SCRIPT: Partial<Record<Role, number>>[] = [
  { leader: 2, first: 1 },
  { second: 4 },
  { leader: -1 },
  { first: 2 },
  { leader: -1 }, // the leader has no viewers left: its death changes no count
  { second: -3 },
  { first: 1 },
  { second: 2 }, // the leader is killed after this step, in the middle of a window
  {},
  { first: -3 },
  { second: 1 },
  {},
];
const KILL_AFTER_STEP = 7;

/** What the sequence implies: the total after each step is the sample at the next mark; three samples make a window. */
function expectedWindows(firstWindow: number): { timestamp: number; viewerCount: number; avgViewers: number; peakViewers: number; minViewers: number; sampleCount: number }[] {
  const samples: number[] = [];
  let total = 0;
  for (const step of SCRIPT) {
    total += Object.values(step).reduce((sum, change) => sum + change, 0);
    samples.push(total);
  }
  const windows = [];
  for (let i = 0; i + SAMPLES <= samples.length; i += SAMPLES) {
    const taken = samples.slice(i, i + SAMPLES);
    windows.push({
      timestamp: firstWindow + (i / SAMPLES) * WINDOW_MS,
      viewerCount: taken.at(-1)!,
      // Sent with four decimals.
      avgViewers: Math.round((taken.reduce((sum, n) => sum + n, 0) / SAMPLES) * 10_000) / 10_000,
      peakViewers: Math.max(...taken),
      minViewers: Math.min(...taken),
      sampleCount: SAMPLES,
    });
  }
  return windows;
}

describe('snapshots of three socket processes: one per auction and window, from the global count, through a leader failover', () => {
  const viewers: Viewer[] = [];
  const stack = useClusterStack(import.meta.filename, ENV, async () => {
    await Promise.all(viewers.splice(0).map((viewer) => viewer.close()));
  });
  const { database } = stack;

  it(
    'stores exactly the windows the scripted joins and leaves imply, each once, with the leader SIGKILLed mid-window',
    { timeout: 150_000 },
    async () => {
      // Own ports (one cluster all the same): the script decides which process each viewer joins.
      const processes = new Map<string, SocketProcess>();
      for (const id of ['a', 'b', 'c']) {
        const service = new SocketProcess(await freePort(), stack.backend.url, { ...ENV, REDIS_URL: stack.redis.url, SOCKET_PROCESS_ID: id });
        await service.start();
        processes.set(id, service);
      }
      const leaderId = await waitForLeader(stack.admin, PREFIX);
      const [firstId, secondId] = [...processes.keys()].filter((id) => id !== leaderId);
      const roles: Record<Role, SocketProcess> = {
        leader: processes.get(leaderId)!,
        first: processes.get(firstId!)!,
        second: processes.get(secondId!)!,
      };
      const auctionId = await database.createAuction();
      const byRole: Record<Role, Viewer[]> = { leader: [], first: [], second: [] };
      let total = 0;

      // The first step lands just after the last sample of a window: the next window is the first whole one.
      const firstWindow = Math.ceil((Date.now() + 3_000) / WINDOW_MS) * WINDOW_MS + WINDOW_MS;
      const firstMark = firstWindow - SAMPLE_MS;
      for (const [index, step] of SCRIPT.entries()) {
        const mark = firstMark + index * SAMPLE_MS;
        await sleep(mark + STEP_AFTER_MARK_MS - Date.now());
        for (const [role, change] of Object.entries(step) as [Role, number][]) {
          if (change > 0) {
            const joined = Array.from({ length: change }, () => new Viewer(liveUrl(roles[role], auctionId)));
            viewers.push(...joined);
            byRole[role].push(...joined);
            await Promise.all(joined.map((viewer) => viewer.opened));
          } else {
            await Promise.all(byRole[role].splice(0, -change).map((viewer) => viewer.close()));
          }
          total += change;
        }
        // Every process must hold the new total before the next sample, or the expectation is void.
        const open = Object.values(byRole).flat();
        await waitFor(() => open.every((viewer) => viewer.count === total), mark + STEP_DEADLINE_MS - Date.now(), `step ${String(index)}: every viewer to see ${String(total)}`);

        if (index === KILL_AFTER_STEP) {
          await sleep(mark + SAMPLE_MS / 2 - Date.now());
          expect(byRole.leader).toHaveLength(0);
          await roles.leader.stop('SIGKILL');
        }
      }

      const expected = expectedWindows(firstWindow);
      const lastWindowEnd = expected.at(-1)!.timestamp + WINDOW_MS;
      await waitFor(
        async () => (await database.snapshots(auctionId)).some((snapshot) => snapshot.timestamp.getTime() >= expected.at(-1)!.timestamp),
        Math.max(0, lastWindowEnd - Date.now()) + 20_000,
        'the last scripted window to be stored',
      );
      const stored = (await database.snapshots(auctionId)).filter(
        (snapshot) => snapshot.timestamp.getTime() >= firstWindow && snapshot.timestamp.getTime() < lastWindowEnd,
      );
      expect(
        stored.map(({ timestamp, viewerCount, avgViewers, peakViewers, minViewers, sampleCount }) => ({
          timestamp: timestamp.getTime(),
          viewerCount,
          avgViewers,
          peakViewers,
          minViewers,
          sampleCount,
        })),
      ).toEqual(expected);
      // Every viewer connects from one IP with one User-Agent: one visitor per window for the whole
      // cluster, also in the windows the dead leader had no viewers in and its successor delivered.
      expect(stored.map(({ uniqueViewers }) => uniqueViewers)).toEqual(expected.map(() => 1));

      // Only the leader sent snapshots until it died; a follower took over.
      const sent = (service: SocketProcess): number => service.logs.filter((line) => line.msg === 'analytics sent').length;
      expect(sent(roles.leader)).toBeGreaterThan(0);
      const successor = [roles.first, roles.second].find((service) => service.logs.some((line) => line.msg.startsWith('leader now')));
      expect(successor).toBeDefined();
      const bystander = successor === roles.first ? roles.second : roles.first;
      expect(sent(bystander)).toBe(0);
      console.info(`windows ${expected.map((window) => new Date(window.timestamp).toISOString()).join(', ')} stored once each; leader ${leaderId} killed in the third`);
    },
  );
});
