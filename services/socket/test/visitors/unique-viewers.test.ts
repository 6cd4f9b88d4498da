import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { VisitorSketch } from '@viewer-analytics/shared';
import { liveUrl, useSocketStack, Viewer, waitFor, type SnapshotDocument } from '../harness.js';

// Long enough intervals that joins made at a window's start are in every one of its samples.
const INTERVAL = 400;
const SAMPLES = 4;
const WINDOW = INTERVAL * SAMPLES;

describe('unique viewers, through the real backend and database', () => {
  const stack = useSocketStack(import.meta.filename, { SAMPLE_INTERVAL_MS: String(INTERVAL), SAMPLES_PER_SNAPSHOT: String(SAMPLES) });
  const { database } = stack;

  /** Waits until just after the next window starts (before its first sample is due); returns its start. */
  async function nextWindow(): Promise<number> {
    const start = (Math.floor(Date.now() / WINDOW) + 1) * WINDOW;
    await sleep(start - Date.now() + 30);
    return start;
  }

  async function storedWindow(auctionId: string, start: number): Promise<SnapshotDocument> {
    let found: SnapshotDocument | undefined;
    await waitFor(async () => {
      found = (await database.snapshots(auctionId)).find(({ timestamp }) => timestamp.getTime() === start);
      return found !== undefined;
    }, 10_000, `the window of ${new Date(start).toISOString()} stored`);
    return found as SnapshotDocument;
  }

  async function connect(auctionId: string, query: string, userAgent: string): Promise<Viewer> {
    const viewer = new Viewer(`${liveUrl(stack.server, auctionId)}${query}`, { 'user-agent': userAgent });
    await waitFor(() => viewer.updates.length > 0, 5_000, 'the join to be counted');
    return viewer;
  }

  it('one browser with three tabs and two other viewers: 5 connections at peak, 3 unique viewers, also in the next window', async () => {
    const auctionId = await database.createAuction();
    const first = await nextWindow();
    const viewers = [
      ...(await Promise.all([1, 2, 3].map(() => connect(auctionId, '', 'Browser A')))),
      await connect(auctionId, '', 'Browser B'),
      // The embedding site's id takes precedence over IP and User-Agent: not the same visitor as Browser A.
      await connect(auctionId, '?viewer=site-user-7', 'Browser A'),
    ];
    // Through the first window and the whole next one: everyone still here counts in the next window too.
    await sleep(first + 2 * WINDOW - Date.now() + 50);
    await Promise.all(viewers.map((viewer) => viewer.close()));

    for (const start of [first, first + WINDOW]) {
      const window = await storedWindow(auctionId, start);
      expect(window).toMatchObject({ peakViewers: 5, uniqueViewers: 3 });
      const sketch = VisitorSketch.fromBytes(window.visitors?.buffer ?? new Uint8Array());
      expect(sketch.estimate()).toBe(3);
    }
  });

  it('counts one ?viewer= id once across User-Agents, and a viewer who came and went between samples', async () => {
    const auctionId = await database.createAuction();
    const first = await nextWindow();
    const stays = await connect(auctionId, '?viewer=abc', 'Phone');
    await (await connect(auctionId, '?viewer=abc', 'Laptop')).close();
    await (await connect(auctionId, '', 'Passer-by')).close();
    await sleep(first + WINDOW - Date.now() + 50);
    await stays.close();
    const window = await storedWindow(auctionId, first);
    expect(window).toMatchObject({ uniqueViewers: 2 });
  });

  it.each([
    ['empty', '?viewer='],
    ['too long', `?viewer=${'x'.repeat(129)}`],
    ['not printable ASCII', '?viewer=%C3%A9t%C3%A9'],
    ['with a space', '?viewer=a%20b'],
  ])('refuses a ?viewer= id that is %s with 4400', async (_name, query) => {
    const auctionId = await database.createAuction();
    const viewer = new Viewer(`${liveUrl(stack.server, auctionId)}${query}`);
    expect(await viewer.closed).toEqual({ code: 4400, reason: 'malformed viewer id' });
  });

  it('accepts a ?viewer= id of 128 printable characters', async () => {
    const auctionId = await database.createAuction();
    const viewer = new Viewer(`${liveUrl(stack.server, auctionId)}?viewer=${encodeURIComponent('~'.repeat(128))}`);
    await viewer.sees(1);
    await viewer.close();
  });
});
