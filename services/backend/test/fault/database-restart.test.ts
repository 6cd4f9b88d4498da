import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { ObjectId } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { FERRETDB_BINARY, startFerretDb, type Database } from '@viewer-analytics/devdb';
import type { BatchOutcome } from '@viewer-analytics/shared';
import { freePort, waitFor } from '@viewer-analytics/testkit';
import { buildApp, createAuction, database, internalKey, snapshot, testConfig, windowStart } from '../helper.js';

/**
 * A FerretDB of this file's own, on a fixed port and data folder, SIGKILLed and started again
 * while snapshots keep coming in: the backend answers 503 DATABASE_UNAVAILABLE meanwhile, within
 * seconds, recovers by itself, and every snapshot it acknowledged is stored exactly once.
 */
describe.runIf(existsSync(FERRETDB_BINARY))('the database killed and restarted under steady ingest', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferretdb-fault-'));
  const quiet = () => undefined;
  let ferret: Database | undefined;
  let app: FastifyInstance | undefined;

  afterAll(async () => {
    await app?.close();
    await ferret?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 while it is away, recovers by itself, and loses or doubles nothing acknowledged', { timeout: 120_000 }, async () => {
    const port = await freePort();
    ferret = await startFerretDb({ dataDir, port, log: quiet });
    const backend = await buildApp(testConfig(import.meta.filename, { MONGODB_URI: ferret.uri }));
    app = backend;
    const auctionId = await createAuction(backend);

    /** Windows the backend acknowledged (stored now, or already stored), and those still to send. */
    const acknowledged = new Set<string>();
    const pending: string[] = [];
    const statuses = new Map<number, number>();
    /** Replies other than 200 and 503 DATABASE_UNAVAILABLE: kept, not thrown, so the ingest loop never dies silently. */
    const unexpected: string[] = [];
    let slowest = 0;
    let minute = 0;

    /** When the request under way started: a failed wait says whether one hangs. */
    let inFlightSince: number | undefined;
    const state = (): string =>
      `replies ${JSON.stringify(Object.fromEntries(statuses))}, ${inFlightSince === undefined ? 'none' : `one for ${String(Date.now() - inFlightSince)} ms`} under way`;

    async function send(timestamp: string): Promise<void> {
      const started = Date.now();
      inFlightSince = started;
      const reply = await backend.inject({
        method: 'POST',
        url: '/api/v1/analytics/snapshots',
        headers: internalKey,
        payload: { snapshots: [{ auctionId, ...snapshot({ timestamp }) }] },
      });
      inFlightSince = undefined;
      slowest = Math.max(slowest, Date.now() - started);
      statuses.set(reply.statusCode, (statuses.get(reply.statusCode) ?? 0) + 1);
      const body = reply.json<{ data?: BatchOutcome; error?: { code: string } }>();
      if (reply.statusCode === 200 && body.data?.invalid.length === 0 && body.data.stored + body.data.duplicates === 1) {
        acknowledged.add(timestamp);
      } else {
        if (reply.statusCode !== 503 || body.error?.code !== 'DATABASE_UNAVAILABLE') unexpected.push(`${String(reply.statusCode)} ${reply.body}`);
        pending.push(timestamp); // retried later, as the socket server does
      }
    }

    // Steady ingest: a new window every few milliseconds, and whatever failed before.
    const stop = new AbortController();
    const ingest = (async () => {
      while (!stop.signal.aborted) {
        const timestamp = pending.shift() ?? windowStart((minute += 1));
        try {
          await send(timestamp);
        } catch (error) {
          unexpected.push(`thrown: ${String(error)}`);
          pending.push(timestamp);
        }
        await sleep(20);
      }
    })();

    const noSurprise = (): boolean => {
      if (unexpected.length > 0) throw new Error(`unexpected replies: ${unexpected.slice(0, 3).join(' | ')}`);
      return true;
    };
    await waitFor(() => noSurprise() && acknowledged.size >= 20, 20_000, () => `ingest to get going (${state()})`);
    process.kill(ferret.pid ?? 0, 'SIGKILL');
    await waitFor(() => noSurprise() && (statuses.get(503) ?? 0) >= 2, 20_000, () => `the backend to answer 503 (${state()})`);
    const ready = await backend.inject({ url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ success: false, error: { code: 'DATABASE_UNAVAILABLE' } });

    ferret = await startFerretDb({ dataDir, port, log: quiet });
    const before = acknowledged.size;
    await waitFor(() => noSurprise() && acknowledged.size >= before + 20, 30_000, () => `ingest to recover by itself (${state()})`);
    expect((await backend.inject({ url: '/ready' })).statusCode).toBe(200);
    stop.abort();
    await ingest;
    while (pending.length > 0) await send(pending.shift() ?? '');

    expect(unexpected).toEqual([]);
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    expect(slowest).toBeLessThan(5_000);
    const stored = await database(backend)
      .collection('vieweranalytics')
      .find({ auction: new ObjectId(auctionId) }, { projection: { _id: 0, timestamp: 1 } })
      .toArray();
    const storedWindows = stored.map((document) => (document['timestamp'] as Date).toISOString());
    expect(storedWindows).toHaveLength(new Set(storedWindows).size);
    expect(new Set(storedWindows)).toEqual(acknowledged);
    process.stdout.write(
      `[fault] ${String(acknowledged.size)} windows acknowledged and stored once; replies ${JSON.stringify(Object.fromEntries(statuses))}; slowest ${String(slowest)} ms\n`,
    );
  });
});
