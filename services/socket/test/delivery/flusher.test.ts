import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FUTURE_SKEW_MS } from '@viewer-analytics/shared';
import { BackendClient } from '../../src/backend/backend-client.js';
import { Flusher } from '../../src/delivery/flusher.js';
import { SnapshotOutbox } from '../../src/delivery/snapshot-outbox.js';
import { SocketMetrics } from '../../src/metrics.js';
import { BackendProcess, freePort, INTERNAL_API_KEY, TestDatabase, waitFor } from '../harness.js';

/** One-second windows: a clock just over 5 minutes ahead of the backend's catches up within seconds. */
const WINDOW = 1_000;

describe('Flusher against the real backend', () => {
  const database = new TestDatabase(import.meta.filename);
  let backend: BackendProcess;
  const clients: BackendClient[] = [];

  beforeAll(async () => {
    backend = new BackendProcess(await freePort(), database.name, { SAMPLE_INTERVAL_MS: '100', SAMPLES_PER_SNAPSHOT: '10' });
    await backend.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await backend.stop();
    await database.close();
  });

  function rig() {
    const outbox = new SnapshotOutbox({ maxRecords: 1_000, maxAgeMs: Number.POSITIVE_INFINITY });
    const client = new BackendClient(backend.url, INTERNAL_API_KEY);
    clients.push(client);
    const metrics = new SocketMetrics();
    const flusher = new Flusher({
      outbox,
      client,
      concurrency: 2,
      retryBaseMs: 200,
      retryMaxMs: 400,
      log: pino({ level: 'silent' }),
      metrics,
      onSettled: () => undefined,
    });
    return { outbox, metrics, flusher };
  }
  const windowNow = (): number => Math.floor(Date.now() / WINDOW) * WINDOW;

  it('drops only the invalid items of a batch and stores the others', async () => {
    const { outbox, metrics, flusher } = rig();
    const auctionId = Buffer.from(await database.createAuction());
    const now = windowNow();
    for (let i = 1; i <= 5; i++) outbox.append(auctionId, 0, now - i * WINDOW, 2, 4, 2, 2, 2);
    // In the middle of the batch: a last sample above the peak, which no correct sampler sends.
    outbox.append(auctionId, 0, now - 6 * WINDOW, 9, 4, 2, 2, 2);
    outbox.append(auctionId, 0, now - 7 * WINDOW, 2, 4, 2, 2, 2);
    flusher.kick();
    await waitFor(() => outbox.size === 0, 10_000, 'the batch answered');
    flusher.stop();
    expect(metrics.snapshotsSent).toMatchObject({ stored: 6, rejected: 1 });
    expect(await database.snapshots(auctionId.toString())).toHaveLength(6);
  });

  it('keeps the windows of a clock ahead of the backend, and stores them once its clock has caught up', async () => {
    const { outbox, metrics, flusher } = rig();
    const auctionId = Buffer.from(await database.createAuction());
    const ahead = Math.ceil((Date.now() + MAX_FUTURE_SKEW_MS + 1_500) / WINDOW) * WINDOW;
    const windows = [windowNow() - WINDOW, ahead, ahead + WINDOW];
    for (const start of windows) outbox.append(auctionId, 0, start, 1, 1, 1, 1, 1);
    flusher.kick();
    await waitFor(() => metrics.snapshotsDeferred >= 2, 5_000, 'the windows ahead deferred');
    expect((await database.snapshots(auctionId.toString())).map((s) => s.timestamp.getTime())).toEqual([windows[0]]);
    expect(outbox.size).toBe(2);

    await waitFor(() => outbox.size === 0, 15_000, 'the deferred windows delivered');
    flusher.stop();
    expect(metrics.snapshotsSent.rejected).toBe(0);
    expect((await database.snapshots(auctionId.toString())).map((s) => s.timestamp.getTime())).toEqual(windows);
  }, 30_000);
});
