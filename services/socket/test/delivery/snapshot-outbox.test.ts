import { describe, expect, it } from 'vitest';
import { Compile } from 'typebox/compile';
import { BatchSnapshotSchema, MAX_BATCH_SNAPSHOTS, VisitorSketch } from '@viewer-analytics/shared';
import { batchLength, encodeBatch, MAX_BATCH_BYTES } from '../../src/delivery/batch-encoder.js';
import { SnapshotOutbox } from '../../src/delivery/snapshot-outbox.js';

const limits = (maxRecords: number) => ({ maxRecords, maxAgeMs: Number.POSITIVE_INFINITY });
const id = (n: number): Uint8Array => Buffer.from(n.toString(16).padStart(24, '0'));
const fill = (outbox: SnapshotOutbox, from: number, to: number): void => {
  for (let n = from; n < to; n++) outbox.append(id(n), 0, n * 60_000, n % 7, (n % 7) * 3, n % 7, n % 7, 3);
};
const ids = (outbox: SnapshotOutbox): number[] => {
  const out = [];
  for (let seq = outbox.head; seq < outbox.tail; seq++) {
    out.push(parseInt(Buffer.from(outbox.ids.subarray(outbox.idOffsetOf(seq), outbox.idOffsetOf(seq) + 24)).toString(), 16));
  }
  return out;
};

describe('SnapshotOutbox', () => {
  it('grows past its first capacity and keeps the order', () => {
    const outbox = new SnapshotOutbox(limits(100_000));
    fill(outbox, 0, 40_000);
    expect(outbox.size).toBe(40_000);
    outbox.acknowledge(10_000);
    fill(outbox, 40_000, 50_000);
    const kept = ids(outbox);
    expect(kept.length).toBe(40_000);
    expect(kept[0]).toBe(10_000);
    expect(kept.at(-1)).toBe(49_999);
    expect(outbox.dropped).toBe(0);
  });

  it('drops the oldest records only when full, and counts them', () => {
    const outbox = new SnapshotOutbox(limits(10));
    fill(outbox, 0, 25);
    expect(ids(outbox)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    expect(outbox.dropped).toBe(15);
  });

  it('drops records older than the outage it is sized for, whatever room is left', () => {
    const outbox = new SnapshotOutbox({ maxRecords: 1_000, maxAgeMs: 10 * 60_000 });
    fill(outbox, 0, 30); // one record per minute
    expect(ids(outbox)).toEqual(Array.from({ length: 11 }, (_, i) => 19 + i));
    expect(outbox.dropped).toBe(19);
  });

  it('requeues a record at the end, a copy of it, even while growing or full', () => {
    const growing = new SnapshotOutbox(limits(100_000));
    fill(growing, 0, 16_384);
    growing.requeue(5);
    expect(ids(growing).at(-1)).toBe(5);
    expect(growing.sumOf(growing.tail - 1)).toBe(growing.sumOf(5));

    const full = new SnapshotOutbox(limits(4));
    fill(full, 0, 4);
    full.requeue(full.head);
    expect(ids(full)).toEqual([1, 2, 3, 0]);
    expect(full.dropped).toBe(1);
  });

  it('encodes a full batch as valid JSON of the batch contract, within the buffer bound', () => {
    const outbox = new SnapshotOutbox(limits(MAX_BATCH_SNAPSHOTS));
    for (let n = 0; n < MAX_BATCH_SNAPSHOTS; n++) {
      outbox.append(Buffer.from('ffffffffffffffffffffffff'), 0, 253_402_300_740_000, 2 ** 31 - 1, 12 * (2 ** 31 - 1) - 1, 2 ** 31 - 1, 2 ** 31 - 2, 12);
    }
    const buffer = Buffer.alloc(MAX_BATCH_BYTES);
    const length = encodeBatch(outbox, 0, MAX_BATCH_SNAPSHOTS, buffer);
    expect(length).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    const body = JSON.parse(buffer.subarray(0, length).toString()) as { snapshots: Record<string, unknown>[] };
    expect(body.snapshots).toHaveLength(MAX_BATCH_SNAPSHOTS);
    expect(body.snapshots[0]).toEqual({
      auctionId: 'ffffffffffffffffffffffff',
      timestamp: '9999-12-31T23:59:00.000Z',
      viewerCount: 2 ** 31 - 1,
      avgViewers: 2147483646.9167,
      peakViewers: 2 ** 31 - 1,
      minViewers: 2 ** 31 - 2,
      sampleCount: 12,
    });
  });

  it('encodes uniques and sketches (base64), and ends a batch of big sketches before 1.5 MiB', () => {
    const big = new VisitorSketch();
    for (let i = 0; i < 5_000; i++) big.add(Math.imul(i + 1, 0x9e3779b1) ^ (i << 7));
    const sketches = [null, 1, 2, 3].map((size) => {
      if (size === null) return null;
      const sketch = new VisitorSketch();
      for (let i = 0; i < size; i++) sketch.add(0xfffffff0 + i);
      return sketch;
    });
    const outbox = new SnapshotOutbox({ ...limits(MAX_BATCH_SNAPSHOTS), maxSketchBytes: 64 * 1024 * 1024 });
    sketches.forEach((sketch, n) => {
      outbox.append(id(n), 0, 60_000, 1, 3, 1, 1, 3, sketch?.estimate() ?? 0, sketch);
    });
    outbox.append(id(9), 0, 60_000, 1, 3, 1, 1, 3); // restored from an older file: no uniques known
    const buffer = Buffer.alloc(MAX_BATCH_BYTES);
    const body = JSON.parse(buffer.subarray(0, encodeBatch(outbox, 0, 5, buffer)).toString()) as { snapshots: Record<string, unknown>[] };
    const check = Compile(BatchSnapshotSchema);
    for (const item of body.snapshots) expect(check.Check(item)).toBe(true);
    expect(body.snapshots.map(({ uniqueViewers, visitorSketch }) => ({ uniqueViewers, visitorSketch }))).toEqual([
      { uniqueViewers: 0, visitorSketch: undefined },
      ...sketches.slice(1).map((sketch) => ({ uniqueViewers: sketch?.estimate(), visitorSketch: Buffer.from(sketch?.toBytes() ?? []).toString('base64') })),
      { uniqueViewers: undefined, visitorSketch: undefined },
    ]);

    // 5,000 windows with the largest sketch do not fit one body: it ends before MAX_BATCH_BYTES.
    for (let n = 0; n < MAX_BATCH_SNAPSHOTS; n++) outbox.append(id(n), 0, 120_000, 1, 3, 1, 1, 3, big.estimate(), big);
    const count = batchLength(outbox, 5, outbox.tail);
    expect(count).toBeGreaterThan(200);
    expect(count).toBeLessThan(MAX_BATCH_SNAPSHOTS);
    const length = encodeBatch(outbox, 5, count, buffer);
    expect(length).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    const large = JSON.parse(buffer.subarray(0, length).toString()) as { snapshots: { visitorSketch: string }[] };
    expect(large.snapshots).toHaveLength(count);
    expect(Buffer.from(large.snapshots[count - 1]!.visitorSketch, 'base64')).toEqual(Buffer.from(big.toBytes()));
  });

  it('keeps sketches through growth, wrap-around, requeues and drops, within its sketch budget', () => {
    const outbox = new SnapshotOutbox({ maxRecords: 100_000, maxAgeMs: Number.POSITIVE_INFINITY, maxSketchBytes: 128 * 1024 });
    const sketchOf = (n: number): VisitorSketch => {
      const sketch = new VisitorSketch();
      for (let i = 0; i <= n % 300; i++) sketch.add(n * 1_000 + i);
      return sketch;
    };
    const bytesAt = (seq: number): Buffer => {
      const at = outbox.sketchOffsetOf(seq);
      return Buffer.from(outbox.sketches.subarray(at, at + outbox.sketchLengthOf(seq)));
    };
    const expectIntact = (): void => {
      for (let seq = outbox.head; seq < outbox.tail; seq++) {
        const n = parseInt(Buffer.from(outbox.ids.subarray(outbox.idOffsetOf(seq), outbox.idOffsetOf(seq) + 24)).toString(), 16);
        const sketch = sketchOf(n);
        expect(bytesAt(seq)).toEqual(Buffer.from(sketch.toBytes()));
        expect(outbox.uniquesOf(seq)).toBe(sketch.estimate());
      }
    };
    for (let n = 0; n < 3_000; n++) {
      const sketch = sketchOf(n);
      outbox.append(id(n), 0, n * 60_000, 1, 3, 1, 1, 3, sketch.estimate(), sketch);
      if (n % 10 === 9) outbox.requeue(outbox.head);
      if (n % 3 === 0 && outbox.size > 40) outbox.acknowledge(outbox.head + 1);
      if (n % 250 === 0) expectIntact();
    }
    expectIntact();
    // 128 KiB of sketches of ~600 bytes on average: the oldest went to keep the budget.
    expect(outbox.dropped).toBeGreaterThan(0);
    expect(outbox.sketches.length).toBeLessThanOrEqual(128 * 1024);
  });
});
