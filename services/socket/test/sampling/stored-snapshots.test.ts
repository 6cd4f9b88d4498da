import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { roundedAverage } from '../../src/encoding/ascii.js';
import { liveUrl, useSocketStack, Viewer, waitFor, type SnapshotDocument } from '../harness.js';

// Long enough intervals that a change made mid-interval cannot slip past a sample on a busy machine.
const INTERVAL = 400;
const SAMPLES = 4;
const WINDOW = INTERVAL * SAMPLES;

describe('a scripted sequence of joins and leaves', () => {
  const stack = useSocketStack(import.meta.filename, { SAMPLE_INTERVAL_MS: String(INTERVAL), SAMPLES_PER_SNAPSHOT: String(SAMPLES) });
  const { database } = stack;

  it('is stored as exactly the snapshots it implies', async () => {
    const auctionId = await database.createAuction();
    const script = [
      [1, 3, 2, 5],
      [5, 0, 4, 2],
    ];
    const viewers: Viewer[] = [];
    const setViewers = async (count: number): Promise<void> => {
      while (viewers.length < count) {
        const viewer = new Viewer(liveUrl(stack.server, auctionId));
        viewers.push(viewer);
        await waitFor(() => viewer.updates.length > 0, 5_000, 'the join to be counted');
      }
      while (viewers.length > count) await viewers.pop()?.close();
    };

    // The auction is looked up before the script, by a viewer of an earlier window: the first join
    // must be counted within half an interval, and a first lookup on a loaded machine can take longer.
    await setViewers(1);
    await setViewers(0);
    // Each change lands half an interval before the sample that must see it.
    const firstWindow = (Math.floor(Date.now() / WINDOW) + 2) * WINDOW;
    const scripted = async (): Promise<SnapshotDocument[]> =>
      (await database.snapshots(auctionId)).filter(({ timestamp }) => timestamp.getTime() >= firstWindow);
    const samples = script.flat();
    for (const [i, count] of samples.entries()) {
      await sleep(firstWindow + i * INTERVAL - INTERVAL / 2 - Date.now());
      await setViewers(count);
    }
    await sleep(firstWindow + samples.length * INTERVAL - INTERVAL / 2 - Date.now());
    await setViewers(0);
    await waitFor(async () => (await scripted()).length >= script.length, 10_000, 'both windows stored');

    const stored = (await scripted()).slice(0, script.length);
    expect(stored.map(({ timestamp, viewerCount, avgViewers, peakViewers, minViewers, sampleCount }) => ({
      timestamp, viewerCount, avgViewers, peakViewers, minViewers, sampleCount,
    }))).toEqual(
      script.map((window, w) => ({
        timestamp: new Date(firstWindow + w * WINDOW),
        viewerCount: window.at(-1),
        avgViewers: roundedAverage(window.reduce((a, b) => a + b, 0), window.length),
        peakViewers: Math.max(...window),
        minViewers: Math.min(...window),
        sampleCount: SAMPLES,
      })),
    );
  });
});
