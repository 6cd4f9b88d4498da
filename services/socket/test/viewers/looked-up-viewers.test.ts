import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@viewer-analytics/shared';
import { BackendProcess, freePort, liveUrl, SocketProcess, stopSocketProcesses, TestDatabase, Viewer, waitFor, windowEnv } from '../harness.js';

const AUCTIONS = 10;

/**
 * The first viewer of an auction the server does not know yet waits for a lookup. uWS closed
 * such a viewer right after opening it when the upgrade itself waited for the lookup (made later,
 * inside `res.cork()`): its cork then read the HTTP state from memory the WebSocket had taken
 * over. A request saying `Connection: close` made that happen almost every time (28 of 30 here),
 * ordinary ones a few times in a thousand. A real process, as in production: the test runner's own
 * heap does not show it.
 */
describe('the first viewer of an auction the server had to look up', () => {
  const database = new TestDatabase(import.meta.filename);
  let backend: BackendProcess | undefined;
  beforeAll(async () => {
    backend = new BackendProcess(await freePort(), database.name, windowEnv({}));
    await backend.start();
  });
  afterAll(async () => {
    await stopSocketProcesses();
    await backend?.stop();
    await database.close();
  });

  /** A hand-written upgrade request, for the header no WebSocket client lets a caller set. */
  function rawViewer(port: number, auctionId: string): { socket: Socket; received: () => string; ended: () => boolean } {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let ended = false;
    socket.on('data', (bytes: Buffer) => (received += bytes.toString('latin1')));
    socket.on('close', () => (ended = true));
    socket.write(
      `GET /auctions/${auctionId}/live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: close\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    return { socket, received: () => received, ended: () => ended };
  }

  it('stays connected and counted once the lookup answers, whatever its upgrade request said', { timeout: 60_000 }, async () => {
    const service = new SocketProcess(await freePort(), backend!.url, {});
    await service.start();
    for (let i = 0; i < AUCTIONS; i++) {
      const auctionId = await database.createAuction();
      const first = rawViewer(service.port, auctionId);
      await waitFor(() => first.received().includes('"count":1') || first.ended(), 5_000, 'the count, or the end of the connection');
      await sleep(200);
      expect(first.received()).toMatch(/^HTTP\/1\.1 101 /);
      expect(first.ended(), `the first viewer of auction ${String(i + 1)} was disconnected`).toBe(false);
      if (i === 0) {
        const second = new Viewer(liveUrl(service, auctionId));
        await second.sees(2);
        first.socket.destroy();
        await second.sees(1);
        await second.close();
      }
      first.socket.destroy();
    }
  });

  it('is not counted if it leaves before the lookup answers; the others waiting with it are, once', { timeout: 30_000 }, async () => {
    const service = new SocketProcess(await freePort(), backend!.url, {});
    await service.start();
    const auctionId = await database.createAuction();
    backend!.signal('SIGSTOP'); // the lookup waits for an answer
    const gone = new Viewer(liveUrl(service, auctionId));
    const waiting = new Viewer(liveUrl(service, auctionId));
    try {
      await Promise.all([gone.opened, waiting.opened]);
      await gone.close();
      await sleep(200);
      expect(waiting.updates).toEqual([]); // open, not counted yet
    } finally {
      backend!.signal('SIGCONT');
    }
    await waiting.sees(1);
    const later = new Viewer(liveUrl(service, auctionId));
    await Promise.all([waiting.sees(2), later.sees(2)]);
    expect(waiting.updates.map((update) => update.count)).toEqual([1, 2]);
    await Promise.all([waiting.close(), later.close()]);
  });

  it('is told the server is shutting down (1001) at once, without waiting for its lookup', { timeout: 60_000 }, async () => {
    const service = new SocketProcess(await freePort(), backend!.url, {});
    await service.start();
    const auctionId = await database.createAuction();
    backend!.signal('SIGSTOP');
    try {
      const viewer = new Viewer(liveUrl(service, auctionId));
      await viewer.opened;
      const stoppedAt = performance.now();
      service.signal('SIGTERM');
      expect(await viewer.closed).toEqual({ code: CloseCode.goingAway, reason: 'server shutting down' });
      expect(performance.now() - stoppedAt).toBeLessThan(1_000);
      expect(viewer.updates).toEqual([]);
    } finally {
      backend!.signal('SIGCONT');
    }
    expect(await service.exited).toBe(0);
  });

  it('whose lookup fails is asked to retry (1013), like every viewer waiting with it; the failure is logged once', { timeout: 30_000 }, async () => {
    const service = new SocketProcess(await freePort(), backend!.url, {});
    await service.start();
    const auctionId = await database.createAuction();
    backend!.signal('SIGSTOP'); // the lookup fails at the client's 5 s timeout
    try {
      const waiting = [0, 1, 2].map(() => new Viewer(liveUrl(service, auctionId)));
      for (const viewer of waiting) expect(await viewer.closed).toEqual({ code: CloseCode.tryAgainLater, reason: 'auction lookup unavailable' });
      expect(waiting.every((viewer) => viewer.updates.length === 0)).toBe(true);
    } finally {
      backend!.signal('SIGCONT');
    }
    const failures = service.problems.filter((line) => line['auctionId'] === auctionId).map((line) => line.msg);
    expect(failures).toEqual(['auction lookup failed; its waiting viewers are asked to retry']);
  });
});
