import { afterAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@viewer-analytics/shared';
import { freePort, liveUrl, socketConfig, startInProcess, useSocketStack, Viewer, type InProcessServer } from '../harness.js';
import { standardClose } from '../standard-client.js';

/** A refused or ended viewer's page hears of it at once, not after uWS's idle timeout (16 s). */
const PROMPT_MS = 1_000;
const UNKNOWN = '0123456789abcdef01234567';

describe('closing promptly, as the standard WebSocket client sees it', () => {
  const stack = useSocketStack(import.meta.filename, { MAX_CONNECTIONS: '2', LOOKUP_NEGATIVE_TTL_MS: '60000' });
  const feed = (auctionId: string): string => liveUrl(stack.server, auctionId);
  let unreachable: InProcessServer | undefined;
  afterAll(async () => {
    await unreachable?.shutdown();
  });

  it('refuses an auction the backend does not know (4404) at once, asked or cached', async () => {
    const asked = await standardClose(feed(UNKNOWN));
    expect(asked).toMatchObject({ code: CloseCode.unknownAuction, reason: 'unknown auction' });
    expect(asked.ms).toBeLessThan(PROMPT_MS);
    const cached = await standardClose(feed(UNKNOWN));
    expect(cached).toMatchObject({ code: CloseCode.unknownAuction });
    expect(cached.ms).toBeLessThan(PROMPT_MS);
  });

  it('refuses a malformed id (4400) at once', async () => {
    const closed = await standardClose(feed('not-an-auction'));
    expect(closed).toMatchObject({ code: CloseCode.malformedAuctionId });
    expect(closed.ms).toBeLessThan(PROMPT_MS);
  });

  it('asks a viewer to retry (1013) at once when the backend cannot be reached', async () => {
    unreachable = await startInProcess(socketConfig(`http://127.0.0.1:${await freePort()}`));
    const closed = await standardClose(liveUrl(unreachable, UNKNOWN));
    expect(closed).toMatchObject({ code: CloseCode.tryAgainLater, reason: 'auction lookup unavailable' });
    expect(closed.ms).toBeLessThan(PROMPT_MS);
  });

  it('refuses a viewer at capacity (1013) at once, whether its auction was looked up or not', async () => {
    const auctionId = await stack.database.createAuction();
    const viewers = [new Viewer(feed(auctionId)), new Viewer(feed(auctionId))];
    await Promise.all(viewers.map((viewer) => viewer.sees(2)));
    for (const id of [auctionId, await stack.database.createAuction()]) {
      const closed = await standardClose(feed(id));
      expect(closed).toMatchObject({ code: CloseCode.tryAgainLater, reason: 'server at capacity' });
      expect(closed.ms).toBeLessThan(PROMPT_MS);
    }
    await Promise.all(viewers.map((viewer) => viewer.close()));
  });

  it('closes a client that sends too much (1009) or too often (1008) at once', async () => {
    const auctionId = await stack.database.createAuction();
    // The auction's first viewer: the one that waits for a lookup.
    const big = await standardClose(feed(auctionId), (socket) => {
      socket.send('x'.repeat(4096));
    });
    expect(big).toMatchObject({ code: CloseCode.messageTooBig, reason: 'message too big' });
    expect(big.ms).toBeLessThan(PROMPT_MS);
    const chatty = await standardClose(feed(auctionId), (socket) => {
      for (let i = 0; i < 20; i++) socket.send('ping');
    });
    expect(chatty).toMatchObject({ code: CloseCode.policyViolation });
    expect(chatty.ms).toBeLessThan(PROMPT_MS);
  });
});
