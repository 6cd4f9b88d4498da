import { beforeAll, describe, expect, it } from 'vitest';
import { freePort, liveUrl, type SocketProcess, Viewer, waitFor } from '../harness.js';
import { clusterEnv, startOnSharedPort, useClusterStack } from './cluster-stack.js';

const PREFIX = 'processes-test:';
const ENV = clusterEnv(PREFIX);
const IDS = ['slot-0', 'slot-1', 'slot-2'] as const;
/** The bar: a killed process's viewers vanish from every other process's count within 10 s. */
const DROP_BOUND_MS = 10_000;

describe('three socket processes on one port count as one through Redis', () => {
  const viewers: Viewer[] = [];
  const stack = useClusterStack(import.meta.filename, ENV, async () => {
    await Promise.all(viewers.splice(0).map((viewer) => viewer.close()));
  });
  const { database } = stack;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
  });

  const socketProcess = (processId: string): Promise<SocketProcess> =>
    startOnSharedPort(port, stack.backend.url, { ...ENV, REDIS_URL: stack.redis.url, SOCKET_PROCESS_ID: processId });

  /** A process's own viewers of the auction, as its hash in Redis holds them. */
  async function viewersOn(processId: string, auctionId: string): Promise<number> {
    return Number((await stack.admin.hget(`${PREFIX}counts:${processId}`, auctionId)) ?? 0);
  }

  async function open(auctionId: string, count: number): Promise<Viewer[]> {
    const opened = Array.from({ length: count }, () => new Viewer(liveUrl({ url: `ws://127.0.0.1:${String(port)}` }, auctionId)));
    viewers.push(...opened);
    await Promise.all(opened.map((viewer) => viewer.opened));
    return opened;
  }

  const live = (): Viewer[] => viewers.filter((viewer) => viewer.socket.readyState === viewer.socket.OPEN);

  async function everyoneSees(count: number, timeoutMs: number): Promise<void> {
    await waitFor(() => live().every((viewer) => viewer.count === count), timeoutMs, `every viewer to see ${String(count)}`);
  }

  it('shows the global count, drops a killed process, and never counts a restarted one twice', async () => {
    const processes = new Map<string, SocketProcess>();
    for (const id of IDS) processes.set(id, await socketProcess(id));
    const auctionId = await database.createAuction();

    // The kernel spreads connections over the three listeners: open viewers until each has some.
    let perProcess: number[] = [];
    while (viewers.length < 60) {
      await open(auctionId, 6);
      await waitFor(async () => {
        perProcess = await Promise.all(IDS.map((id) => viewersOn(id, auctionId)));
        return perProcess.reduce((sum, n) => sum + n, 0) === viewers.length;
      }, 3_000, 'every process to publish its viewers');
      if (perProcess.every((n) => n > 0)) break;
    }
    expect(perProcess.every((n) => n > 0)).toBe(true);
    const total = viewers.length;
    await everyoneSees(total, 3_000);

    // SIGKILL: no leave message; the others drop it once it has been silent for three heartbeats.
    const killed = perProcess[1]!;
    const killedAt = performance.now();
    await processes.get('slot-1')!.stop('SIGKILL');
    await waitFor(() => live().length === total - killed, 5_000, "the killed process's viewers to be cut off");
    await everyoneSees(total - killed, DROP_BOUND_MS + 5_000);
    const dropMs = performance.now() - killedAt;
    console.info(`${String(total)} viewers (${perProcess.join(' / ')}); the ${String(killed)} of the killed process disappeared after ${dropMs.toFixed(0)} ms`);
    expect(dropMs).toBeLessThan(DROP_BOUND_MS);

    // Restarted under the same id, then killed and restarted at once: its greater epoch replaces
    // its old counts at once instead of after the silence, and nothing is counted twice.
    processes.set('slot-1', await socketProcess('slot-1'));
    viewers.splice(0, viewers.length, ...live());
    await open(auctionId, killed);
    await waitFor(async () => (await Promise.all(IDS.map((id) => viewersOn(id, auctionId)))).reduce((sum, n) => sum + n, 0) === total, 3_000, 'every viewer published');
    await everyoneSees(total, 3_000);
    const onRestarted = await viewersOn('slot-1', auctionId);
    const restartedAt = performance.now();
    await processes.get('slot-1')!.stop('SIGKILL');
    processes.set('slot-1', await socketProcess('slot-1'));
    await everyoneSees(total - onRestarted, 5_000);
    const replaceMs = performance.now() - restartedAt;
    console.info(`killed with ${String(onRestarted)} viewers and restarted at once: the others showed ${String(total - onRestarted)} after ${replaceMs.toFixed(0)} ms`);
    expect(replaceMs).toBeLessThan(5_000);

    const seen = viewers.flatMap((viewer) => viewer.updates.map((update) => update.count));
    expect(Math.max(...seen)).toBeLessThanOrEqual(total);
  }, 60_000);
});
