import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '@viewer-analytics/shared';
import { BackendClient } from '../../src/backend/backend-client.js';
import { AuctionDirectory } from '../../src/viewers/auction-directory.js';
import { INTERNAL_API_KEY, liveUrl, metric, useSocketStack, Viewer, waitFor } from '../harness.js';
import { standardClose } from '../standard-client.js';

const randomId = (): string => randomBytes(12).toString('hex');

describe('auction lookups under a flood of made-up ids', () => {
  const stack = useSocketStack(import.meta.filename, {
    MAX_CONNECTIONS: '3',
    MAX_PENDING_LOOKUPS: '2',
    MAX_WAITING_VIEWERS: '3',
    LOOKUP_CACHE_ENTRIES: '10',
    LOOKUP_TTL_MS: '0', // every join of an auction without viewers asks the backend
  });
  const { database } = stack;
  const feed = (auctionId: string): string => liveUrl(stack.server, auctionId);
  const waitingForLookup = (): Promise<number> => metric(stack.server.port, 'socket_viewers_waiting_for_lookup');

  it('keeps a known auction known through an outage, however many unknown ids came after it', async () => {
    const client = new BackendClient(stack.backend.url, INTERNAL_API_KEY);
    const warnings: unknown[] = [];
    const log = { warn: (...args: unknown[]) => warnings.push(args) };
    const directory = new AuctionDirectory({ client, ttlMs: 0, negativeTtlMs: 60_000, maxEntries: 10, maxPendingLookups: 100, log });
    const known = await database.createAuction();
    expect(await directory.exists(known)).toBe(true);
    for (let i = 0; i < 50; i++) expect(await directory.exists(randomId())).toBe(false);
    await stack.backend.stop();
    try {
      expect(await directory.exists(known)).toBe(true);
      expect(warnings).toHaveLength(0); // an expired "yes" trusted through the outage is no failure
      await expect(directory.exists(randomId())).rejects.toThrow();
      expect(warnings).toHaveLength(1);
    } finally {
      await stack.backend.start();
      await client.close();
    }
  });

  it('accepts new viewers of a watched auction during an outage, after a flood of unknown ids', async () => {
    const watched = await database.createAuction();
    const first = new Viewer(feed(watched));
    await first.sees(1);
    for (let i = 0; i < 30; i++) expect((await standardClose(feed(randomId()))).code).toBe(CloseCode.unknownAuction);
    await stack.backend.stop();
    try {
      const second = new Viewer(feed(watched));
      await Promise.all([first.sees(2), second.sees(2)]);
      expect((await standardClose(feed(randomId()))).code).toBe(CloseCode.tryAgainLater);
      await second.close();
    } finally {
      await stack.backend.start();
    }
    await first.close();
  });

  it('bounds lookups under way on their own: they neither fill the server nor turn viewers of a watched auction away', async () => {
    const watched = await database.createAuction();
    const first = new Viewer(feed(watched));
    await first.sees(1);
    stack.backend.signal('SIGSTOP'); // lookups now wait for an answer
    const waiting: Viewer[] = [];
    try {
      waiting.push(new Viewer(feed(randomId())), new Viewer(feed(randomId())));
      await sleep(200);
      const third = await standardClose(feed(randomId()));
      expect(third).toMatchObject({ code: CloseCode.tryAgainLater, reason: 'too many auction lookups' });
      expect(third.ms).toBeLessThan(1_000);
      // MAX_CONNECTIONS is 3: one viewer and two lookups under way leave room for two more viewers.
      const more = [new Viewer(feed(watched)), new Viewer(feed(watched))];
      await Promise.all([first, ...more].map((viewer) => viewer.sees(3)));
      expect((await standardClose(feed(watched))).code).toBe(CloseCode.tryAgainLater);
      await Promise.all(more.map((viewer) => viewer.close()));
    } finally {
      stack.backend.signal('SIGCONT');
    }
    for (const viewer of waiting) expect((await viewer.closed).code).toBe(CloseCode.unknownAuction);
    await first.close();
  });

  it('bounds the connections waiting for the lookup of one auction, apart from the viewers', async () => {
    const watched = await database.createAuction();
    const first = new Viewer(feed(watched));
    await first.sees(1);
    const slow = await database.createAuction();
    stack.backend.signal('SIGSTOP'); // its lookup now waits for an answer
    const waiting = [new Viewer(feed(slow)), new Viewer(feed(slow)), new Viewer(feed(slow))];
    try {
      await Promise.all(waiting.map((viewer) => viewer.opened));
      const fourth = await standardClose(feed(slow));
      expect(fourth).toMatchObject({ code: CloseCode.tryAgainLater, reason: 'too many auction lookups' });
      expect(fourth.ms).toBeLessThan(1_000);
      // One that leaves makes room for another.
      await waiting.pop()?.close();
      const another = new Viewer(feed(slow));
      waiting.push(another);
      await another.opened;
      await sleep(200);
      expect(another.socket.readyState).toBe(another.socket.OPEN);
      // The viewers of a watched auction still come in.
      const second = new Viewer(feed(watched));
      await Promise.all([first.sees(2), second.sees(2)]);
      await second.close();
      expect(waiting.every((viewer) => viewer.updates.length === 0)).toBe(true);
      expect(await waitingForLookup()).toBe(3);
    } finally {
      stack.backend.signal('SIGCONT');
    }
    // MAX_CONNECTIONS is 3: with the first viewer, two of the three fit once the lookup answers.
    await waitFor(() => waiting.filter((viewer) => viewer.count === 2).length === 2, 5_000, 'two of the waiting viewers counted');
    const refused = waiting.find((viewer) => viewer.count === undefined);
    expect(await refused?.closed).toEqual({ code: CloseCode.tryAgainLater, reason: 'server at capacity' });
    expect(await waitingForLookup()).toBe(0);
    await Promise.all([first, ...waiting].map((viewer) => viewer.close()));
  });
});
