import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@viewer-analytics/shared';
import {
  BackendProcess,
  freePort,
  liveUrl,
  socketConfig,
  SocketProcess,
  startInProcess,
  stopSocketProcesses,
  temporaryOutboxFile,
  TestDatabase,
  Viewer,
  waitFor,
  type SnapshotDocument,
} from '../harness.js';

const INTERVAL = 100;
const SAMPLES = 3;
const WINDOW = INTERVAL * SAMPLES;

/** Every window from the first stored one to the last, once each: nothing lost, nothing twice. */
function expectUnbrokenWindows(stored: SnapshotDocument[], windowMs: number): void {
  const times = stored.map((snapshot) => snapshot.timestamp.getTime());
  expect(new Set(times).size).toBe(times.length);
  for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(windowMs);
}

describe('delivery through a backend outage', () => {
  const database = new TestDatabase(import.meta.filename);
  let backend: BackendProcess;

  beforeAll(async () => {
    // 300 ms windows: the 600 ms windows of the second test start on them too.
    backend = new BackendProcess(await freePort(), database.name, {
      SAMPLE_INTERVAL_MS: String(INTERVAL),
      SAMPLES_PER_SNAPSHOT: String(SAMPLES),
    });
    await backend.start();
  });
  afterEach(stopSocketProcesses);
  afterAll(async () => {
    await backend.stop();
    await database.close();
  });

  it('delivers every window, none twice, after the backend was down for several flushes', async () => {
    const server = await startInProcess(
      socketConfig(backend.url, {
        SAMPLE_INTERVAL_MS: String(INTERVAL),
        SAMPLES_PER_SNAPSHOT: String(SAMPLES),
        RETRY_BASE_MS: '50',
        RETRY_MAX_MS: '200',
      }),
    );
    const auctions = [await database.createAuction(), await database.createAuction()];
    const viewers = [new Viewer(liveUrl(server, auctions[0]!)), new Viewer(liveUrl(server, auctions[0]!)), new Viewer(liveUrl(server, auctions[1]!))];
    await Promise.all(viewers.map((viewer) => viewer.opened));
    await waitFor(async () => (await database.snapshots(auctions[0]!)).length >= 2, 10_000, 'snapshots before the outage');

    await backend.stop();
    await sleep(6 * WINDOW);
    expect(server.metrics.flushFailures).toBeGreaterThan(0);
    await backend.start();
    await sleep(4 * WINDOW);
    await Promise.all(viewers.map((viewer) => viewer.close()));
    await server.shutdown();

    for (const [auctionId, count] of [[auctions[0]!, 2], [auctions[1]!, 1]] as const) {
      const stored = await database.snapshots(auctionId);
      expect(stored.length).toBeGreaterThanOrEqual(12);
      expectUnbrokenWindows(stored, WINDOW);
      // Every window but the first (joined mid-window) and the last (closed at shutdown) is full and steady.
      for (const snapshot of stored.slice(1, -1)) {
        expect(snapshot).toMatchObject({ sampleCount: SAMPLES, peakViewers: count, minViewers: count, avgViewers: count });
      }
    }
  });

  it('keeps the partial window of a SIGTERM while the backend is down and sends it after a restart', async () => {
    const outboxFile = temporaryOutboxFile();
    const slowInterval = 200;
    const window = slowInterval * SAMPLES;
    const port = await freePort();
    const startSocket = async (): Promise<SocketProcess> => {
      const service = new SocketProcess(port, backend.url, {
        SAMPLE_INTERVAL_MS: String(slowInterval),
        SAMPLES_PER_SNAPSHOT: String(SAMPLES),
        OUTBOX_FILE: outboxFile,
        SHUTDOWN_FLUSH_TIMEOUT_MS: '300',
        RETRY_BASE_MS: '50',
        RETRY_MAX_MS: '200',
      });
      await service.start();
      return service;
    };

    const auctionId = await database.createAuction();
    const first = await startSocket();
    const viewer = new Viewer(`ws://127.0.0.1:${port}/auctions/${auctionId}/live`);
    await viewer.sees(1);
    await waitFor(async () => (await database.snapshots(auctionId)).length >= 1, 10_000, 'a snapshot before the outage');

    await backend.stop();
    // Two windows pile up in the outbox, then SIGTERM lands after the second sample of the third.
    const stopAt = (Math.floor(Date.now() / window) + 3) * window + slowInterval + slowInterval / 2;
    await sleep(stopAt - Date.now());
    const firstExit = first.stop();
    expect(await viewer.closed).toMatchObject({ code: CloseCode.goingAway });
    expect(await firstExit).toBe(0);
    expect(existsSync(outboxFile)).toBe(true);

    await backend.start();
    const second = await startSocket();
    const partialWindow = stopAt - (stopAt % window);
    await waitFor(
      async () => (await database.snapshots(auctionId)).some((s) => s.timestamp.getTime() === partialWindow),
      10_000,
      'the partial window after the restart',
    );
    expect(await second.stop()).toBe(0);

    const stored = await database.snapshots(auctionId);
    expectUnbrokenWindows(stored, window);
    expect(stored.at(-1)).toMatchObject({ timestamp: new Date(partialWindow), sampleCount: 2, viewerCount: 1 });
    for (const snapshot of stored.slice(1, -1)) expect(snapshot.sampleCount).toBe(SAMPLES);
  });
});
