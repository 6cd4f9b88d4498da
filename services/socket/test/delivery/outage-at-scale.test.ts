import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ObjectId } from 'mongodb';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendProcess, freePort, liveUrl, metric, SocketProcess, TestDatabase, waitFor } from '../harness.js';

/**
 * Live auctions of the outage. The suite runs 2,000 on the FerretDB all test files share; the
 * 10,000 of the reliability bar take OUTAGE_TEST_AUCTIONS=10000 and minutes, most of them spent in
 * FerretDB 1.x's scan of the auctions collection for every batch (see bench/README.md).
 */
const AUCTIONS = Number(process.env['OUTAGE_TEST_AUCTIONS'] ?? 2_000);
const INTERVAL = Number(process.env['OUTAGE_TEST_INTERVAL_MS'] ?? 300);
const SAMPLES = 10;
const WINDOW = INTERVAL * SAMPLES;
/** Windows the backend stays down for: twice the five of a five-minute outage at one-minute windows. */
const OUTAGE_WINDOWS = 10;
const WINDOW_ENV = { SAMPLE_INTERVAL_MS: String(INTERVAL), SAMPLES_PER_SNAPSHOT: String(SAMPLES) };

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${String(pid)}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number.parseInt(line?.split(/\s+/)[1] ?? '0', 10) * 1024;
}

describe(`a backend outage of ${String(OUTAGE_WINDOWS)} windows with ${String(AUCTIONS)} live auctions`, () => {
  const database = new TestDatabase(import.meta.filename);
  let backend: BackendProcess;
  let server: SocketProcess | undefined;
  const viewers: WebSocket[] = [];

  beforeAll(async () => {
    backend = new BackendProcess(await freePort(), database.name, WINDOW_ENV);
    await backend.start();
  });
  afterAll(async () => {
    for (const viewer of viewers) viewer.terminate();
    await server?.stop('SIGKILL');
    await backend.stop();
    await database.close();
  });

  it('keeps memory bounded by what it holds, then stores every snapshot it made exactly once', async () => {
    const now = new Date();
    const ids = Array.from({ length: AUCTIONS }, () => new ObjectId());
    for (let i = 0; i < AUCTIONS; i += 1_000) {
      await database.db.collection('auctions').insertMany(
        ids.slice(i, i + 1_000).map((_id) => ({ _id, title: 'Outage test', ownerId: 'owner-1', enableViewerAnalytics: true, createdAt: now, updatedAt: now })),
      );
    }
    server = new SocketProcess(await freePort(), backend.url, { ...WINDOW_ENV, LOG_LEVEL: 'warn', RETRY_BASE_MS: '100', RETRY_MAX_MS: '500' });
    await server.start();
    const { port } = server;

    // One viewer per auction, opened a few hundred at a time.
    for (let i = 0; i < AUCTIONS; i += 250) {
      await Promise.all(
        ids.slice(i, i + 250).map(
          (id) =>
            new Promise<void>((resolve, reject) => {
              const viewer = new WebSocket(liveUrl(server!, id.toHexString()), { perMessageDeflate: false });
              viewers.push(viewer);
              viewer.once('message', () => {
                resolve();
              });
              viewer.once('error', reject);
            }),
        ),
      );
    }
    expect(await metric(port, 'socket_connections')).toBe(AUCTIONS);
    await waitFor(async () => (await metric(port, 'socket_snapshots_made_total')) >= AUCTIONS, 4 * WINDOW, 'a first window');
    await waitFor(async () => (await metric(port, 'socket_outbox_snapshots')) === 0, 60_000, 'the backend caught up');

    const pid = server.pid!;
    const rssBefore = rssBytes(pid);
    await backend.stop();
    await sleep(OUTAGE_WINDOWS * WINDOW);
    const held = await metric(port, 'socket_outbox_snapshots');
    const rssDuring = rssBytes(pid);
    expect(held).toBeGreaterThanOrEqual((OUTAGE_WINDOWS - 1) * AUCTIONS);
    // 53 bytes a snapshot in the outbox's arrays (twice that while they double), the journal's
    // write buffer as much again, and room for the collector's timing.
    expect(rssDuring - rssBefore).toBeLessThan(held * 53 * 4 + 64 * 2 ** 20);
    expect(await metric(port, 'socket_snapshots_dropped_total')).toBe(0);

    // Viewers leave (their auctions' last windows follow); once the backend is back everything goes in.
    for (const viewer of viewers) viewer.close();
    await waitFor(async () => (await metric(port, 'socket_connections')) === 0, 20_000, 'every viewer gone');
    await backend.start();
    await waitFor(async () => (await metric(port, 'socket_auctions_tracked')) === 0, 10 * WINDOW, 'every auction done');
    await waitFor(async () => (await metric(port, 'socket_outbox_snapshots')) === 0, 120_000, 'the outbox emptied');

    // The unique index makes a second copy impossible: as many stored as made means each once.
    const made = await metric(port, 'socket_snapshots_made_total');
    const stored = await database.db.collection('vieweranalytics').countDocuments();
    expect(stored).toBe(made);
    expect(await metric(port, 'socket_snapshots_sent_total{outcome="rejected"}')).toBe(0);
    process.stdout.write(
      `outage at scale: ${String(AUCTIONS)} live auctions, ${String(held)} snapshots held (RSS +${(
        (rssDuring - rssBefore) /
        2 ** 20
      ).toFixed(1)} MiB), ${String(made)} made, ${String(stored)} stored\n`,
    );
  }, 600_000);
});
