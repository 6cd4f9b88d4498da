import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { ObjectId, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FUTURE_SKEW_MS, MAX_SAMPLES_PER_SNAPSHOT, MAX_VIEWER_COUNT, snapshotKey, type BatchOutcome, type Snapshot } from '@viewer-analytics/shared';
import { buildApp, createAuction, database, dropAndClose, internalKey, testConfig, windowStart } from '../../../helper.js';

/**
 * Thousands of generated bodies, valid and not, at both ingest routes. Every reply must be a
 * documented 2xx or 4xx (never a 5xx); an accepted body must store exactly what a simple model
 * predicts (in a batch: its valid items, the invalid ones reported by index); and afterwards
 * every stored document must satisfy the snapshot invariants.
 */

const SINGLE_RUNS = 3_000;
const BATCH_RUNS = 1_500;
const DAY_MS = 86_400_000;
const WINDOW_MS = 60_000;
const SNAPSHOT_FIELDS = ['timestamp', 'viewerCount', 'avgViewers', 'peakViewers', 'minViewers', 'sampleCount'];

describe('snapshot ingest, property-based', () => {
  let app: FastifyInstance;
  let enabled: string[];
  let disabled: string;
  /** What the database must hold: `auctionId@epochMs` of every snapshot stored. */
  const model = new Set<string>();

  beforeAll(async () => {
    app = await buildApp(testConfig(import.meta.filename));
    enabled = await Promise.all([createAuction(app), createAuction(app), createAuction(app)]);
    disabled = await createAuction(app, { enableViewerAnalytics: false });
  });
  afterAll(async () => {
    await dropAndClose(app);
  });

  // ---- generators -------------------------------------------------------------------------

  /** An instant as ISO 8601, in UTC or with an offset: the same instant must be the same window. */
  const isoInstant = (date: Date) =>
    fc.constantFrom(0, 120, -330).map((offsetMinutes) => {
      if (offsetMinutes === 0) return date.toISOString();
      const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, -1);
      const sign = offsetMinutes > 0 ? '+' : '-';
      const abs = Math.abs(offsetMinutes);
      return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    });

  // Window starts only (multiples of a minute), within retention and not too far ahead; mostly a
  // few recent ones, so that retries and duplicates happen often.
  const timestamp = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 30 }).map((minutesAgo) => windowStart(minutesAgo)) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: -(MAX_FUTURE_SKEW_MS / WINDOW_MS - 1), max: 89 * 1440 })
        .chain((minutesAgo) => isoInstant(new Date(windowStart(minutesAgo)))),
    },
  );

  const validSnapshot: fc.Arbitrary<Snapshot> = fc
    .record({
      timestamp,
      minViewers: fc.integer({ min: 0, max: MAX_VIEWER_COUNT - 10_000 }),
      spread: fc.integer({ min: 0, max: 10_000 }),
      last: fc.double({ min: 0, max: 1, noNaN: true }),
      mean: fc.double({ min: 0, max: 1, noNaN: true }),
      sampleCount: fc.integer({ min: 1, max: MAX_SAMPLES_PER_SNAPSHOT }),
    })
    .map(({ timestamp: at, minViewers, spread, last, mean, sampleCount }) => ({
      timestamp: at,
      viewerCount: minViewers + Math.floor(last * spread),
      avgViewers: minViewers + mean * spread,
      peakViewers: minViewers + spread,
      minViewers,
      sampleCount,
    }));

  /** A valid snapshot with something surely wrong. */
  const brokenSnapshot = fc.oneof(
    // Broken invariants: min above peak, counts outside [min, peak] or above the bound.
    validSnapshot.map((s) => ({ ...s, minViewers: s.peakViewers + 1 })),
    validSnapshot.map((s) => ({ ...s, viewerCount: s.peakViewers + 1 })),
    validSnapshot.map((s) => ({ ...s, avgViewers: s.minViewers - 0.5 })),
    validSnapshot.map((s) => ({ ...s, sampleCount: MAX_SAMPLES_PER_SNAPSHOT + 1 })),
    validSnapshot.map((s) => ({ ...s, peakViewers: MAX_VIEWER_COUNT + 1 })),
    // Windows that do not start on a boundary, or that retention would already have purged.
    fc.tuple(validSnapshot, fc.integer({ min: 1, max: WINDOW_MS - 1 })).map(([s, offset]) => ({
      ...s,
      timestamp: new Date(Date.parse(s.timestamp) + offset).toISOString(),
    })),
    fc.tuple(validSnapshot, fc.integer({ min: 91, max: 100_000 })).map(([s, days]) => ({
      ...s,
      timestamp: new Date(Date.parse(windowStart()) - days * DAY_MS).toISOString(),
    })),
  );
  /** Valid but for a window too far ahead: refused for now, with its own code. */
  const futureSnapshot = validSnapshot.map((s) => ({ ...s, timestamp: windowStart(-(MAX_FUTURE_SKEW_MS / WINDOW_MS + 60)) }));

  /** A valid snapshot with one thing wrong, or perhaps (by chance) still right. */
  const mutatedSnapshot = fc.oneof(
    fc.tuple(validSnapshot, fc.constantFrom(...SNAPSHOT_FIELDS), fc.jsonValue()).map(([snapshot, field, value]) => ({ ...snapshot, [field]: value })),
    fc.tuple(validSnapshot, fc.constantFrom(...SNAPSHOT_FIELDS)).map(([snapshot, field]) =>
      Object.fromEntries(Object.entries(snapshot).filter(([key]) => key !== field)),
    ),
    fc.tuple(validSnapshot, fc.string(), fc.jsonValue()).map(([snapshot, key, value]) => ({ ...snapshot, [key]: value })),
    brokenSnapshot,
    futureSnapshot,
  );

  const auctionId = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(0, 1, 2).map((i) => enabled[i] ?? '') },
    { weight: 1, arbitrary: fc.constant(0).map(() => disabled) },
    { weight: 1, arbitrary: fc.constant(0).map(() => new ObjectId().toHexString()) },
    { weight: 1, arbitrary: fc.constantFrom(0, 1, 2).map((i) => (enabled[i] ?? '').toUpperCase()) },
  );
  const malformedId = fc.oneof(fc.string({ maxLength: 30 }), fc.constant('665f1c2a9b1e8a001234567'), fc.constant('zzzzzzzzzzzzzzzzzzzzzzzz'));

  /** Bytes of a request body: JSON of anything, or text that is not JSON at all. */
  const anyJson = fc.jsonValue().map((value) => JSON.stringify(value));
  const notJson = fc.string().filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  });

  // ---- the model ----------------------------------------------------------------------------

  /** What storing these accepted snapshots must do, updating the model as the database must be. */
  function expectedOutcome(snapshots: readonly { auctionId: string; timestamp: string }[]): BatchOutcome {
    const outcome = { stored: 0, duplicates: 0, disabled: 0, unknown: 0, invalid: [] };
    for (const snapshot of snapshots) {
      const id = snapshot.auctionId.toLowerCase();
      if (id === disabled) outcome.disabled += 1;
      else if (!enabled.includes(id)) outcome.unknown += 1;
      else {
        const key = `${id}@${String(Date.parse(snapshot.timestamp))}`;
        if (model.has(key)) outcome.duplicates += 1;
        else {
          model.add(key);
          outcome.stored += 1;
        }
      }
    }
    return outcome;
  }

  function expectErrorEnvelope(statusCode: number, reply: unknown, statuses: readonly number[]): void {
    expect(statuses).toContain(statusCode);
    const body = reply as { success: boolean; error: { code: string; message: string } };
    expect(body.success).toBe(false);
    expect(body.error.code).toMatch(/^[A-Z_]+$/);
    expect(body.error.message).not.toBe('');
  }

  const send = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, headers: { ...internalKey, 'content-type': 'application/json' }, payload });

  // ---- the properties -----------------------------------------------------------------------

  it(`POST /api/v1/auctions/:id/analytics/snapshot: ${String(SINGLE_RUNS)} bodies, never a 5xx, accepted ones stored as modelled`, async () => {
    const body = fc.oneof(
      { weight: 4, arbitrary: validSnapshot.map((snapshot) => ({ valid: true, payload: JSON.stringify(snapshot) })) },
      { weight: 3, arbitrary: mutatedSnapshot.map((snapshot) => ({ valid: false, payload: JSON.stringify(snapshot) })) },
      { weight: 1, arbitrary: fc.oneof(anyJson, notJson).map((payload) => ({ valid: false, payload })) },
    );
    const id = fc.oneof({ weight: 9, arbitrary: auctionId }, { weight: 1, arbitrary: malformedId });
    let accepted = 0;

    await fc.assert(
      fc.asyncProperty(id, body, async (auction, { valid, payload }) => {
        const reply = await send(`/api/v1/auctions/${encodeURIComponent(auction)}/analytics/snapshot`, payload);
        if (reply.statusCode >= 400) {
          expectErrorEnvelope(reply.statusCode, reply.json(), [400, 404]);
          if (valid && /^[0-9a-f]{24}$/i.test(auction)) expect(reply.statusCode).toBe(404);
          if (reply.statusCode === 404) expect(expectedOutcome([{ auctionId: auction, timestamp: '' }]).unknown).toBe(1);
          return;
        }
        // Accepted (a valid body, or a mutation that happened to stay valid): exactly what the model says.
        accepted += 1;
        const { timestamp: at } = JSON.parse(payload) as Snapshot;
        const expected = expectedOutcome([{ auctionId: auction, timestamp: at }]);
        const data = reply.json<{ success: true; data: { stored: boolean; reason?: string } }>().data;
        if (expected.stored === 1) expect([reply.statusCode, data]).toEqual([201, { stored: true }]);
        else if (expected.duplicates === 1) expect([reply.statusCode, data]).toEqual([200, { stored: false, reason: 'duplicate' }]);
        else expect([reply.statusCode, data]).toEqual([200, { stored: false, reason: 'analytics_disabled' }]);
      }),
      { numRuns: SINGLE_RUNS },
    );
    // Both sides of the contract were exercised, not only refusals.
    expect(accepted).toBeGreaterThan(SINGLE_RUNS / 4);
    expect(accepted).toBeLessThan(SINGLE_RUNS);
  });

  it(`POST /api/v1/analytics/snapshots: ${String(BATCH_RUNS)} batches, never a 5xx, valid items stored, invalid ones reported`, async () => {
    type Kind = 'valid' | 'invalid' | 'future' | 'maybe';
    const tagged = (kind: Kind, snapshot: fc.Arbitrary<object>, id: fc.Arbitrary<string> = auctionId) =>
      fc.tuple(id, snapshot).map(([auction, fields]) => ({ kind, item: { auctionId: auction, ...fields } }));
    const item = fc.oneof(
      { weight: 24, arbitrary: tagged('valid', validSnapshot) },
      { weight: 2, arbitrary: tagged('invalid', brokenSnapshot) },
      { weight: 1, arbitrary: tagged('future', futureSnapshot) },
      { weight: 1, arbitrary: tagged('invalid', validSnapshot, malformedId) },
      { weight: 2, arbitrary: tagged('maybe', mutatedSnapshot) },
    );
    const body = fc.oneof(
      { weight: 6, arbitrary: fc.array(item, { minLength: 1, maxLength: 25 }).map((items) => ({ items, payload: JSON.stringify({ snapshots: items.map(({ item: i }) => i) }) })) },
      { weight: 1, arbitrary: fc.oneof(anyJson, notJson, anyJson.map((snapshots) => `{"snapshots":${snapshots}}`)).map((payload) => ({ items: undefined, payload })) },
    );

    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(body, async ({ items, payload }) => {
        const reply = await send('/api/v1/analytics/snapshots', payload);
        if (reply.statusCode >= 400) {
          // Only a body of the wrong shape is refused as a whole.
          expect(items).toBeUndefined();
          expectErrorEnvelope(reply.statusCode, reply.json(), [400]);
          return;
        }
        expect(reply.statusCode).toBe(200);
        accepted += 1;
        const { snapshots } = JSON.parse(payload) as { snapshots: unknown[] };
        const { invalid, ...counts } = reply.json<{ data: BatchOutcome }>().data;
        const refusedAt = new Map(invalid.map((entry) => [entry.index, entry]));
        expect(refusedAt.size).toBe(invalid.length);
        items?.forEach(({ kind }, index) => {
          const entry = refusedAt.get(index);
          if (kind === 'valid') expect(entry).toBeUndefined();
          if (kind === 'invalid') expect(entry?.code).toBe('INVALID_SNAPSHOT');
          if (kind === 'future') expect(entry?.code).toBe('SNAPSHOT_IN_FUTURE');
        });
        for (const entry of invalid) {
          expect(['INVALID_SNAPSHOT', 'SNAPSHOT_IN_FUTURE']).toContain(entry.code);
          expect(entry.message).not.toBe('');
        }
        refused += invalid.length;
        const kept = snapshots.filter((_, index) => !refusedAt.has(index)) as { auctionId: string; timestamp: string }[];
        expect({ ...counts, invalid: [] }).toEqual(expectedOutcome(kept));
      }),
      { numRuns: BATCH_RUNS },
    );
    expect(accepted).toBeGreaterThan(BATCH_RUNS / 2);
    expect(accepted).toBeLessThan(BATCH_RUNS);
    expect(refused).toBeGreaterThan(BATCH_RUNS / 10);
  });

  it('leaves only documents that satisfy every invariant, exactly the ones modelled', async () => {
    const documents = await database(app).collection('vieweranalytics').find().toArray();
    const keys = documents.map((document) => checkInvariants(document, enabled));
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(keys)).toEqual(model);
    // The run must have exercised storage, not only refusals.
    expect(model.size).toBeGreaterThan(100);
  });
});

/** Throws unless the stored document is a well-formed snapshot; returns its `auctionId@epochMs`. */
function checkInvariants(document: Document, enabled: readonly string[]): string {
  const { _id, auction, timestamp, viewerCount, avgViewers, peakViewers, minViewers, sampleCount, createdAt, updatedAt, ...rest } = document;
  expect(rest).toEqual({});
  expect(auction).toBeInstanceOf(ObjectId);
  expect(enabled).toContain((auction as ObjectId).toHexString());
  for (const date of [timestamp, createdAt, updatedAt]) expect(date).toBeInstanceOf(Date);
  // The key names the document's own auction and window.
  expect(_id).toBe(snapshotKey((auction as ObjectId).toHexString(), (timestamp as Date).getTime()));
  for (const count of [viewerCount, peakViewers, minViewers, sampleCount]) {
    expect(Number.isInteger(count)).toBe(true);
    expect(count).toBeGreaterThanOrEqual(0);
    expect(count).toBeLessThanOrEqual(MAX_VIEWER_COUNT);
  }
  expect(typeof avgViewers).toBe('number');
  const [min, avg, peak, last, samples] = [minViewers, avgViewers, peakViewers, viewerCount, sampleCount] as number[];
  expect(min).toBeLessThanOrEqual(peak ?? NaN);
  expect(avg).toBeGreaterThanOrEqual(min ?? NaN);
  expect(avg).toBeLessThanOrEqual(peak ?? NaN);
  expect(last).toBeGreaterThanOrEqual(min ?? NaN);
  expect(last).toBeLessThanOrEqual(peak ?? NaN);
  expect(samples).toBeGreaterThanOrEqual(1);
  expect(samples).toBeLessThanOrEqual(MAX_SAMPLES_PER_SNAPSHOT);
  expect((timestamp as Date).getTime()).toBeLessThanOrEqual((createdAt as Date).getTime() + MAX_FUTURE_SKEW_MS);
  expect((timestamp as Date).getTime()).toBeGreaterThanOrEqual((createdAt as Date).getTime() - 90 * DAY_MS);
  expect((timestamp as Date).getTime() % WINDOW_MS).toBe(0);
  return `${(auction as ObjectId).toHexString()}@${String((timestamp as Date).getTime())}`;
}
