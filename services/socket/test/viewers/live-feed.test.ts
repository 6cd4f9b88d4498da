import { describe, expect, it } from 'vitest';
import { CloseCode } from '@viewer-analytics/shared';
import { liveUrl, useSocketStack, Viewer, waitFor } from '../harness.js';

const BROADCAST_INTERVAL_MS = 100;

describe('the live feed', () => {
  const stack = useSocketStack(import.meta.filename, { BROADCAST_INTERVAL_MS: String(BROADCAST_INTERVAL_MS) });
  const { database } = stack;
  const feed = (auctionId: string): string => liveUrl(stack.server, auctionId);

  it('follows the spec: 1 watching, a second tab makes 2 for both, closing it makes 1 again', async () => {
    const auctionId = await database.createAuction();
    const first = new Viewer(feed(auctionId));
    await first.sees(1);
    const second = new Viewer(feed(auctionId));
    await second.sees(2);
    await first.sees(2);
    await second.close();
    await first.sees(1);
    expect(new Set(first.updates.map((update) => `${update.type} ${update.auctionId}`))).toEqual(
      new Set([`viewerCountUpdate ${auctionId}`]),
    );
    expect(Date.parse(first.updates[0]?.at ?? '')).toBeGreaterThan(Date.now() - 10_000);
    await first.close();
  });

  it('keeps auctions apart: viewers of one never hear the count of another', async () => {
    const [a, b] = [await database.createAuction(), await database.createAuction()];
    const viewerA = new Viewer(feed(a));
    await viewerA.sees(1);
    const viewersB = [new Viewer(feed(b)), new Viewer(feed(b)), new Viewer(feed(b))];
    await Promise.all(viewersB.map((viewer) => viewer.sees(3)));
    await new Promise((resolve) => setTimeout(resolve, 3 * BROADCAST_INTERVAL_MS));
    expect(viewerA.updates.map((update) => [update.auctionId, update.count])).toEqual([[a, 1]]);
    await Promise.all([viewerA, ...viewersB].map((viewer) => viewer.close()));
  });

  it('accepts the reserved ?viewer= parameter and uppercase ids (same auction)', async () => {
    const auctionId = await database.createAuction();
    const lower = new Viewer(`${feed(auctionId)}?viewer=7d1c0e9a`);
    await lower.sees(1);
    const upper = new Viewer(feed(auctionId.toUpperCase()));
    await upper.sees(2);
    await Promise.all([lower.close(), upper.close()]);
  });

  it('closes a malformed auction id with 4400', async () => {
    for (const bad of ['xyz', '665f1c2a9b1e8a001234567', '665f1c2a9b1e8a00123456789', 'zz5f1c2a9b1e8a0012345678']) {
      const viewer = new Viewer(feed(bad));
      expect(await viewer.closed).toEqual({ code: CloseCode.malformedAuctionId, reason: 'malformed auction id' });
      expect(viewer.updates).toEqual([]);
    }
  });

  it('closes an auction the backend does not know with 4404', async () => {
    const viewer = new Viewer(feed('0123456789abcdef01234567'));
    expect(await viewer.closed).toEqual({ code: CloseCode.unknownAuction, reason: 'unknown auction' });
    // Answered from the negative cache the second time, the same way.
    const again = new Viewer(feed('0123456789abcdef01234567'));
    expect((await again.closed).code).toBe(CloseCode.unknownAuction);
  });

  it('closes clients that flood it with messages (1008) or send an oversized one (1009, with a close frame)', async () => {
    const auctionId = await database.createAuction();
    const flooder = new Viewer(feed(auctionId));
    await flooder.opened;
    for (let i = 0; i < 20; i++) flooder.socket.send('hello');
    expect((await flooder.closed).code).toBe(CloseCode.policyViolation);

    for (const size of [513, 4096, 16 * 1024]) {
      const big = new Viewer(feed(auctionId));
      await big.opened;
      big.socket.send(Buffer.alloc(size, 'x'));
      expect(await big.closed).toEqual({ code: CloseCode.messageTooBig, reason: 'message too big' });
    }
    const fine = new Viewer(feed(auctionId));
    await fine.opened;
    fine.socket.send('x'.repeat(512));
    await fine.sees(1);
    await new Promise((resolve) => setTimeout(resolve, 2 * BROADCAST_INTERVAL_MS));
    expect(fine.socket.readyState).toBe(fine.socket.OPEN);
    await fine.close();
  });

  it('tells every viewer each count once: a newcomer hears its count at join and not again from the next publish', async () => {
    const auctionId = await database.createAuction();
    const first = new Viewer(feed(auctionId));
    await first.sees(1);
    const second = new Viewer(feed(auctionId));
    await first.sees(2);
    // Joins within one interval: the later count reaches the earlier newcomers once.
    const burst = [new Viewer(feed(auctionId)), new Viewer(feed(auctionId)), new Viewer(feed(auctionId))];
    const everyone = [first, second, ...burst];
    await Promise.all(everyone.map((viewer) => viewer.sees(5)));
    await new Promise((resolve) => setTimeout(resolve, 3 * BROADCAST_INTERVAL_MS));
    expect(second.updates[0]?.count).toBe(2);
    for (const viewer of everyone) {
      const counts = viewer.updates.map((update) => update.count);
      expect(counts.filter((count, i) => count === counts[i - 1])).toEqual([]);
    }
    const [leaver, ...stayers] = everyone;
    await leaver?.close();
    await Promise.all(stayers.map((viewer) => viewer.sees(4)));
    await Promise.all(stayers.map((viewer) => viewer.close()));
  });

  it('500 viewers joining within a second all end with 500, each told O(intervals) times, not O(joins)', async () => {
    const auctionId = await database.createAuction();
    const started = Date.now();
    const viewers: Viewer[] = [];
    for (let i = 0; i < 500; i++) viewers.push(new Viewer(feed(auctionId)));
    await Promise.all(viewers.map((viewer) => viewer.opened));
    const joinedIn = Date.now() - started;
    expect(joinedIn).toBeLessThan(1_000);
    await waitFor(() => viewers.every((viewer) => viewer.count === 500), 5_000, 'every viewer to see 500');
    const elapsed = Date.now() - started;
    // One frame at join, then at most one per broadcast interval (+1 for timer phase).
    const bound = 1 + Math.ceil(elapsed / BROADCAST_INTERVAL_MS) + 1;
    const most = Math.max(...viewers.map((viewer) => viewer.updates.length));
    expect(most).toBeLessThanOrEqual(bound);
    expect(most).toBeLessThan(50);
    await Promise.all(viewers.map((viewer) => viewer.close()));
  });
});
