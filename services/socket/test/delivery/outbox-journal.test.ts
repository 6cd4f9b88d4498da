import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { OutboxJournal, type JournalEvents } from '../../src/delivery/outbox-journal.js';
import { VisitorSketch } from '@viewer-analytics/shared';
import { SnapshotOutbox, UNKNOWN_UNIQUES } from '../../src/delivery/snapshot-outbox.js';

const WINDOW = 60_000;
const newOutbox = (): SnapshotOutbox => new SnapshotOutbox({ maxRecords: 100_000, maxAgeMs: Number.POSITIVE_INFINITY });
const id = (n: number): Uint8Array => Buffer.from(n.toString(16).padStart(24, '0'));

/** A record as the earlier file versions (1 and 2) wrote it, 53 bytes at `at`: auction n, window 4, last 3, sum 36, peak 4, min 2, 12 samples. */
function writeOlderRecord(body: Buffer, at: number, n: number): void {
  body.set(id(n), at);
  body.writeDoubleLE(4 * WINDOW, at + 24);
  body.writeDoubleLE(36, at + 32);
  body.writeInt32LE(3, at + 40);
  body.writeInt32LE(4, at + 44);
  body.writeInt32LE(2, at + 48);
  body.writeUInt8(12, at + 52);
}
/** One window's records: auctions from..to-1, each with values derived from its number. */
const fillWindow = (outbox: SnapshotOutbox, window: number, from: number, to: number): void => {
  for (let n = from; n < to; n++) outbox.append(id(n), 0, window * WINDOW, n % 7, (n % 7) * 12 + 0.5, (n % 7) + 1, n % 7, 12);
};
const records = (outbox: SnapshotOutbox): string[] => {
  const out = [];
  for (let seq = outbox.head; seq < outbox.tail; seq++) {
    const at = outbox.idOffsetOf(seq);
    const auction = Buffer.from(outbox.ids.subarray(at, at + 24)).toString();
    out.push(`${auction}@${outbox.windowStartOf(seq)}:${outbox.lastOf(seq)}/${outbox.sumOf(seq)}/${outbox.peakOf(seq)}/${outbox.minOf(seq)}/${outbox.samplesOf(seq)}`);
  }
  return out;
};
const tempFile = (): string => join(mkdtempSync(join(tmpdir(), 'outbox-journal-')), 'outbox.bin');

function recorder(): JournalEvents & { readonly corruptions: Parameters<JournalEvents['corrupt']>[0][] } {
  const corruptions: Parameters<JournalEvents['corrupt']>[0][] = [];
  return { corruptions, corrupt: (details) => corruptions.push(details) };
}

async function reopen(path: string, events = recorder()) {
  const outbox = newOutbox();
  const opened = await OutboxJournal.open(path, outbox, events);
  return { ...opened, outbox, events };
}

describe('OutboxJournal', () => {
  it('brings back every record of every synced window, and the last closed window, after the process is gone', async () => {
    const path = tempFile();
    const outbox = newOutbox();
    const { journal } = await OutboxJournal.open(path, outbox, recorder());
    fillWindow(outbox, 1, 0, 300);
    await journal.sync(1 * WINDOW);
    fillWindow(outbox, 2, 0, 300);
    await journal.sync(2 * WINDOW);
    // No close(): the file must already hold them, as after a SIGKILL. The lock names a live pid
    // (ours), so the test reopens it as the next process would once this one is gone.
    const again = await reopen(path);
    expect(again.restored).toBe(600);
    expect(again.lastClosedWindow).toBe(2 * WINDOW);
    expect(records(again.outbox)).toEqual(records(outbox));
  });

  it('drops from the file what the backend acknowledged', async () => {
    const path = tempFile();
    const outbox = newOutbox();
    const { journal } = await OutboxJournal.open(path, outbox, recorder());
    fillWindow(outbox, 1, 0, 10_000);
    await journal.sync(WINDOW);
    outbox.acknowledge(9_000);
    await journal.sync();
    expect(journal.liveRecords).toBe(1_000);
    // 9,000 dead against 1,000 live: rewritten with the live ones alone.
    expect(statSync(path).size).toBe(journal.bytes);
    expect(journal.bytes).toBeLessThan(1_100 * 59);
    outbox.acknowledge(outbox.tail);
    await journal.close();
    expect(statSync(path).size).toBe(20);
    const again = await reopen(path);
    expect(again.restored).toBe(0);
    expect(again.lastClosedWindow).toBe(WINDOW);
  });

  it('keeps what was written before a torn last append, without calling the file corrupt', async () => {
    const path = tempFile();
    const outbox = newOutbox();
    const { journal } = await OutboxJournal.open(path, outbox, recorder());
    fillWindow(outbox, 1, 0, 100);
    await journal.sync(WINDOW);
    const intact = records(outbox);
    fillWindow(outbox, 2, 0, 100);
    await journal.sync(2 * WINDOW);
    truncateSync(path, statSync(path).size - 70);
    const again = await reopen(path);
    expect(records(again.outbox)).toEqual(intact);
    expect(again.events.corruptions).toEqual([]);
  });

  it.each([
    ['garbage', Buffer.from('this is not an outbox file at all, just junk')],
    ['an empty file', Buffer.alloc(0)],
    ['a header cut short', Buffer.from([0x42, 0x4f, 0x41, 0x56, 2, 0, 0])],
  ])('moves %s aside, says so, and starts empty', async (_, body) => {
    const path = tempFile();
    writeFileSync(path, body);
    const { restored, events } = await reopen(path);
    expect(restored).toBe(0);
    expect(events.corruptions).toHaveLength(1);
    expect(events.corruptions[0]).toMatchObject({ file: path, kept: 0 });
    const aside = join(path, '..', events.corruptions[0]!.movedTo);
    expect(readFileSync(aside)).toEqual(body);
    expect(statSync(path).size).toBe(20); // a fresh, valid file
  });

  it('keeps the valid frames before a damaged one and moves the file aside', async () => {
    const path = tempFile();
    const outbox = newOutbox();
    const { journal } = await OutboxJournal.open(path, outbox, recorder());
    fillWindow(outbox, 1, 0, 50);
    await journal.sync(WINDOW);
    const firstFrame = records(outbox);
    fillWindow(outbox, 2, 0, 50);
    await journal.sync(2 * WINDOW);
    fillWindow(outbox, 3, 0, 50);
    await journal.sync(3 * WINDOW);
    const body = readFileSync(path);
    const inSecondFrame = 20 + 24 + 50 * 59 + 24 + 40; // header, first frame, second frame's header, into its records
    body.writeUInt8(body.readUInt8(inSecondFrame) ^ 0xff, inSecondFrame);
    writeFileSync(path, body);
    const again = await reopen(path);
    expect(records(again.outbox)).toEqual(firstFrame);
    expect(again.events.corruptions).toHaveLength(1);
    expect(again.events.corruptions[0]).toMatchObject({ kept: 50 });
    expect(readdirSync(join(path, '..')).filter((name) => name.includes('.corrupt-'))).toHaveLength(1);
  });

  it('keeps each window\'s unique visitors and visitor sketch across a restart', async () => {
    const path = tempFile();
    const outbox = newOutbox();
    const { journal } = await OutboxJournal.open(path, outbox, recorder());
    const sketches = [3, 0, 2_000, 1].map((size, n) => {
      const sketch = new VisitorSketch();
      for (let i = 0; i < size; i++) sketch.add(Math.imul(i + 1 + n * 10_000, 0x9e3779b1) >>> 0);
      return sketch;
    });
    sketches.forEach((sketch, n) => {
      outbox.append(id(n), 0, WINDOW, 1, 12, 1, 1, 12, sketch.estimate(), sketch.estimate() === 0 ? null : sketch);
    });
    await journal.sync(WINDOW);
    const again = await reopen(path);
    expect(again.restored).toBe(4);
    for (let n = 0; n < 4; n++) {
      const seq = again.outbox.head + n;
      const sketch = sketches[n]!;
      expect(again.outbox.uniquesOf(seq)).toBe(sketch.estimate());
      const length = again.outbox.sketchLengthOf(seq);
      const at = again.outbox.sketchOffsetOf(seq);
      expect(length === 0 ? null : Buffer.from(again.outbox.sketches.subarray(at, at + length))).toEqual(
        sketch.estimate() === 0 ? null : Buffer.from(sketch.toBytes()),
      );
    }
  });

  it('reads a file of the version before visitors (2): records without uniques or sketches', async () => {
    const path = tempFile();
    const records2 = 2;
    const body = Buffer.alloc(20 + 20 + records2 * 53);
    body.writeUInt32LE(0x56414f42, 0);
    body.writeUInt32LE(2, 4);
    body.writeDoubleLE(5 * WINDOW, 8);
    body.writeUInt32LE(crc32(body.subarray(0, 16)), 16);
    body.writeUInt32LE(0x56414f46, 20);
    body.writeUInt32LE(records2, 24);
    body.writeDoubleLE(6 * WINDOW, 28);
    for (let i = 0; i < records2; i++) writeOlderRecord(body, 40 + i * 53, i + 1);
    body.writeUInt32LE(crc32(body.subarray(40), crc32(body.subarray(24, 36))), 36);
    writeFileSync(path, body);
    const again = await reopen(path);
    expect(again.events.corruptions).toEqual([]);
    expect(again.lastClosedWindow).toBe(6 * WINDOW);
    expect(records(again.outbox)).toEqual([
      `${'1'.padStart(24, '0')}@${4 * WINDOW}:3/36/4/2/12`,
      `${'2'.padStart(24, '0')}@${4 * WINDOW}:3/36/4/2/12`,
    ]);
    expect(again.outbox.uniquesOf(again.outbox.head)).toBe(UNKNOWN_UNIQUES);
    expect(again.outbox.sketchLengthOf(again.outbox.head)).toBe(0);
  });

  it('reads the file a graceful stop of the previous version wrote', async () => {
    const path = tempFile();
    const body = Buffer.alloc(24 + 2 * 53);
    body.writeUInt32LE(0x56414f42, 0);
    body.writeUInt32LE(1, 4);
    body.writeDoubleLE(5 * WINDOW, 8);
    body.writeUInt32LE(2, 16);
    for (let i = 0; i < 2; i++) writeOlderRecord(body, 24 + i * 53, i + 1);
    writeFileSync(path, body);
    const again = await reopen(path);
    expect(again.lastClosedWindow).toBe(5 * WINDOW);
    expect(records(again.outbox)).toEqual([
      `${'1'.padStart(24, '0')}@${4 * WINDOW}:3/36/4/2/12`,
      `${'2'.padStart(24, '0')}@${4 * WINDOW}:3/36/4/2/12`,
    ]);
  });

  it('refuses a file another live process holds, and takes over the lock of a dead one', async () => {
    const path = tempFile();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(`${path}.lock`, String(holder.pid));
      await expect(reopen(path)).rejects.toThrow(`in use by process ${String(holder.pid)}`);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    const { journal } = await reopen(path);
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe(String(process.pid));
    await journal.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});
