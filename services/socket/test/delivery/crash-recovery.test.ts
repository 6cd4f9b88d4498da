import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@viewer-analytics/shared';
import { OutboxJournal } from '../../src/delivery/outbox-journal.js';
import { SnapshotOutbox } from '../../src/delivery/snapshot-outbox.js';
import {
  BackendProcess,
  freePort,
  liveUrl,
  SocketProcess,
  stopSocketProcesses,
  temporaryOutboxFile,
  TestDatabase,
  Viewer,
  waitFor,
  windowEnv,
  type SnapshotDocument,
} from '../harness.js';

const INTERVAL = 200;
const SAMPLES = 3;
const WINDOW = INTERVAL * SAMPLES;
/** Windows of the outbox files these tests write, as a socket server with the defaults would. */
const FILE_WINDOW = 60_000;

const fast = (outboxFile: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  SAMPLE_INTERVAL_MS: String(INTERVAL),
  SAMPLES_PER_SNAPSHOT: String(SAMPLES),
  OUTBOX_FILE: outboxFile,
  RETRY_BASE_MS: '50',
  RETRY_MAX_MS: '200',
  ...extra,
});

/** Sleeps until `offset` ms into the next window; returns that moment. */
async function untilPhase(offset: number): Promise<number> {
  const now = Date.now();
  const target = (Math.floor(now / WINDOW) + 1) * WINDOW + offset;
  await sleep(target - now);
  return target;
}

/** Each window from the first stored one to `last`, once, full and steady at `count` in between. */
function expectEveryWindowOnce(stored: SnapshotDocument[], last: number, count: number): void {
  const times = stored.map((snapshot) => snapshot.timestamp.getTime());
  expect(times.at(-1)).toBe(last);
  const expected = Array.from({ length: (last - times[0]!) / WINDOW + 1 }, (_, i) => times[0]! + i * WINDOW);
  expect(times).toEqual(expected);
  for (const snapshot of stored.slice(1, -1)) {
    expect(snapshot).toMatchObject({ sampleCount: SAMPLES, peakViewers: count, minViewers: count, avgViewers: count });
  }
}

/** An outbox file as a previous process left it: `windows` recent one-minute windows of one auction. */
async function writeOutboxFile(path: string, auctionId: string, windows: number): Promise<number[]> {
  const outbox = new SnapshotOutbox({ maxRecords: 1_000, maxAgeMs: Number.POSITIVE_INFINITY });
  const { journal } = await OutboxJournal.open(path, outbox, { corrupt: () => undefined });
  const current = Math.floor(Date.now() / FILE_WINDOW) * FILE_WINDOW;
  const starts = Array.from({ length: windows }, (_, i) => current - (windows - i) * FILE_WINDOW);
  for (const start of starts) outbox.append(Buffer.from(auctionId), 0, start, 2, 24, 2, 2, 12);
  await journal.sync(starts.at(-1));
  await journal.close();
  return starts;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}

describe('nothing lost, whatever dies', () => {
  const database = new TestDatabase(import.meta.filename);
  let backend: BackendProcess;

  beforeAll(async () => {
    // Its windows divide both the socket servers' (600 ms) and the files' written here (1 min).
    backend = new BackendProcess(await freePort(), database.name, windowEnv(fast('')));
    await backend.start();
  });
  afterEach(stopSocketProcesses);
  afterAll(async () => {
    await backend.stop();
    await database.close();
  });

  it('SIGKILL with a full outbox while the backend is down: after a restart every closed window is stored once', async () => {
    const outboxFile = temporaryOutboxFile();
    const port = await freePort();
    const [a, b] = [await database.createAuction(), await database.createAuction()];
    const first = new SocketProcess(port, backend.url, fast(outboxFile));
    await first.start();
    const viewers = [new Viewer(liveUrl(first, a)), new Viewer(liveUrl(first, a)), new Viewer(liveUrl(first, b))];
    await Promise.all(viewers.map((viewer) => viewer.opened));
    await waitFor(async () => (await database.snapshots(a)).length >= 2, 10_000, 'snapshots before the outage');

    await backend.stop();
    await sleep(5 * WINDOW);
    // Mid-window: the window before was closed (and journaled) half a window ago.
    const killedAt = await untilPhase(WINDOW / 2);
    await first.stop('SIGKILL');
    const lastClosed = killedAt - (killedAt % WINDOW) - WINDOW;
    for (const viewer of viewers) expect((await viewer.closed).code).toBe(1006);
    expect(statSync(outboxFile).size).toBeGreaterThan(20);

    // The restart finds the backend still down: it starts, says it is not ready, and waits.
    const second = new SocketProcess(port, backend.url, fast(outboxFile));
    await second.start();
    expect(second.logs.find((line) => line.msg === 'reloaded undelivered snapshots')?.['snapshots']).toBeGreaterThanOrEqual(10);
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(503);
    await sleep(2 * WINDOW);
    expect(second.running).toBe(true);

    await backend.start();
    await waitFor(
      async () => (await database.snapshots(a)).some((snapshot) => snapshot.timestamp.getTime() === lastClosed),
      15_000,
      'the last window closed before the SIGKILL',
    );
    await waitFor(
      async () => (await database.snapshots(b)).some((snapshot) => snapshot.timestamp.getTime() === lastClosed),
      15_000,
      'the same window of the other auction',
    );
    expect(await second.stop()).toBe(0);
    expectEveryWindowOnce(await database.snapshots(a), lastClosed, 2);
    expectEveryWindowOnce(await database.snapshots(b), lastClosed, 1);
  }, 60_000);

  it('a second SIGTERM cuts the delivery short, never the save of the partial window', async () => {
    const outboxFile = temporaryOutboxFile();
    const port = await freePort();
    const auctionId = await database.createAuction();
    const first = new SocketProcess(port, backend.url, fast(outboxFile, { SHUTDOWN_FLUSH_TIMEOUT_MS: '30000' }));
    await first.start();
    const viewer = new Viewer(liveUrl(first, auctionId));
    await viewer.sees(1);
    await waitFor(async () => (await database.snapshots(auctionId)).length >= 1, 10_000, 'a snapshot before the outage');

    await backend.stop();
    await sleep(3 * WINDOW);
    const stoppedAt = await untilPhase(WINDOW / 2);
    first.signal('SIGTERM');
    await sleep(100);
    first.signal('SIGTERM');
    const secondSignal = Date.now();
    expect(await first.exited).toBe(0);
    // Without the second signal it would have tried for 30 s.
    expect(Date.now() - secondSignal).toBeLessThan(3_000);
    expect((await viewer.closed).code).toBe(CloseCode.goingAway);
    expect(first.logs.some((line) => line.msg.startsWith('signal again'))).toBe(true);

    await backend.start();
    const second = new SocketProcess(port, backend.url, fast(outboxFile));
    await second.start();
    const partialWindow = stoppedAt - (stoppedAt % WINDOW);
    await waitFor(
      async () => (await database.snapshots(auctionId)).some((snapshot) => snapshot.timestamp.getTime() === partialWindow),
      15_000,
      'the partial window saved at the first signal',
    );
    expect(await second.stop()).toBe(0);
    const stored = await database.snapshots(auctionId);
    expectEveryWindowOnce(stored, partialWindow, 1);
    expect(stored.at(-1)).toMatchObject({ sampleCount: 2, viewerCount: 1 });
  }, 60_000);

  it('a backend that never answers cannot hold shutdown past its deadline, and the outage is logged once', async () => {
    const silent = createServer(() => {
      // Accepts and never answers: undici's own timeouts (15 s) would outlast the deadline.
    });
    const silentPort = await freePort();
    await listen(silent, silentPort);
    const outboxFile = temporaryOutboxFile();
    const written = await writeOutboxFile(outboxFile, await database.createAuction(), 3);
    const port = await freePort();
    const server = new SocketProcess(port, `http://127.0.0.1:${silentPort}`, {
      OUTBOX_FILE: outboxFile,
      SHUTDOWN_FLUSH_TIMEOUT_MS: '1000',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '100',
    });
    try {
      await server.start();
      await sleep(500);
      const stopping = Date.now();
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(2_500);
    } finally {
      silent.close();
    }
    const warnings = server.problems.map((line) => line.msg);
    expect(warnings.filter((msg) => msg.startsWith('analytics delivery failed')).length).toBeLessThanOrEqual(2);
    expect(warnings).toContain('undelivered snapshots saved for the next start');
    const reopened = new SnapshotOutbox({ maxRecords: 100, maxAgeMs: Number.POSITIVE_INFINITY });
    const { journal, restored } = await OutboxJournal.open(outboxFile, reopened, { corrupt: () => undefined });
    await journal.close();
    expect(restored).toBe(written.length);
  }, 30_000);

  it('a damaged outbox file is moved aside, logged and counted; the server starts', async () => {
    const outboxFile = temporaryOutboxFile();
    writeFileSync(outboxFile, 'VAOB but then nothing an outbox file should hold');
    const port = await freePort();
    const server = new SocketProcess(port, backend.url, { OUTBOX_FILE: outboxFile });
    await server.start();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(await server.stop()).toBe(0);
    const logged = server.problems.find((line) => line.msg.startsWith('the outbox file was damaged'));
    expect(logged).toMatchObject({ level: 50, reason: 'not an outbox file', kept: 0 });
    expect(readdirSync(dirname(outboxFile)).filter((name) => name.includes('.corrupt-'))).toHaveLength(1);
    expect(metrics).toMatch(/^socket_outbox_files_corrupt_total 1$/m);
  }, 30_000);

  it('a start that fails on a taken port keeps the saved snapshots for the next start', async () => {
    const outboxFile = temporaryOutboxFile();
    const auctionId = await database.createAuction();
    const windows = await writeOutboxFile(outboxFile, auctionId, 3);
    const port = await freePort();
    const squatter = createServer();
    await listen(squatter, port);
    const refused = new SocketProcess(port, backend.url, { OUTBOX_FILE: outboxFile });
    try {
      refused.spawn();
      expect(await refused.exited).toBe(1);
    } finally {
      squatter.close();
    }
    expect(refused.logs.find((line) => line.level === 60)?.msg).toBe('could not start');
    expect(JSON.stringify(refused.logs)).toContain(`could not listen on 127.0.0.1:${String(port)}`);
    expect(existsSync(`${outboxFile}.lock`)).toBe(false);

    const next = new SocketProcess(port, backend.url, { OUTBOX_FILE: outboxFile });
    await next.start();
    await waitFor(async () => (await database.snapshots(auctionId)).length === windows.length, 10_000, 'the saved snapshots');
    expect(await next.stop()).toBe(0);
    const stored = await database.snapshots(auctionId);
    expect(stored.map((snapshot) => snapshot.timestamp.getTime())).toEqual(windows);
  }, 30_000);
});
