import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { liveUrl, useSocketStack, Viewer, waitFor } from '../harness.js';

/** Long, so that "at once" and "on the next interval" cannot be mistaken for each other. */
const BROADCAST_INTERVAL_MS = 1_000;

describe('leading-edge coalescing', () => {
  const stack = useSocketStack(import.meta.filename, { BROADCAST_INTERVAL_MS: String(BROADCAST_INTERVAL_MS) });
  const feed = (auctionId: string): string => liveUrl(stack.server, auctionId);

  it('a join on an auction quiet for an interval reaches its viewers at once, not on the next interval', async () => {
    const auctionId = await stack.database.createAuction();
    const watcher = new Viewer(feed(auctionId));
    await watcher.sees(1);
    const joined: Viewer[] = [];
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(BROADCAST_INTERVAL_MS + 100);
      const heard = watcher.updates.length;
      const connectingAt = performance.now();
      joined.push(new Viewer(feed(auctionId)));
      await waitFor(() => watcher.updates.length > heard, 3 * BROADCAST_INTERVAL_MS, `join ${String(i)} to be heard`);
      delays.push(performance.now() - connectingAt);
      expect(watcher.count).toBe(joined.length + 1);
    }
    // On the next interval, five joins at random phases would wait 500 ms on average.
    console.info(`join → other viewer on a quiet auction: ${delays.map((ms) => ms.toFixed(1)).join(', ')} ms`);
    expect(Math.max(...delays)).toBeLessThan(300);
    await Promise.all([watcher, ...joined].map((viewer) => viewer.close()));
  });

  it('a surge after a quiet interval: the first join at once, the rest in one update per interval', async () => {
    const auctionId = await stack.database.createAuction();
    const watcher = new Viewer(feed(auctionId));
    await watcher.sees(1);
    await sleep(BROADCAST_INTERVAL_MS + 100);
    const started = performance.now();
    const surge = Array.from({ length: 40 }, () => new Viewer(feed(auctionId)));
    // The leading update (it carries every join the server took in the same turn of its loop) ...
    await waitFor(() => watcher.updates.length > 1, 3 * BROADCAST_INTERVAL_MS, 'the first join to be heard');
    expect(performance.now() - started).toBeLessThan(300);
    // ... then at most one per interval, the last one an interval after it.
    await waitFor(() => watcher.count === 41, 3 * BROADCAST_INTERVAL_MS, 'the whole surge to be heard');
    const elapsed = performance.now() - started;
    const frames = watcher.updates.slice(1);
    expect(frames.length).toBeLessThanOrEqual(1 + Math.ceil(elapsed / BROADCAST_INTERVAL_MS));
    expect(elapsed).toBeLessThan(BROADCAST_INTERVAL_MS + 500);
    await Promise.all([watcher, ...surge].map((viewer) => viewer.close()));
  });
});
