import { MAX_BATCH_SNAPSHOTS } from '@viewer-analytics/shared';
import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';
import { ascii, base64Length, ISO_TIMESTAMP_LENGTH, writeAverage, writeBase64, writeBytes, writeIsoTimestamp, writeUint } from '../encoding/ascii.js';
import type { SnapshotOutbox } from './snapshot-outbox.js';

const OPEN = ascii('{"snapshots":[');
const CLOSE = ascii(']}');
const AUCTION_ID = ascii('{"auctionId":"');
const TIMESTAMP = ascii('","timestamp":"');
const VIEWER_COUNT = ascii('","viewerCount":');
const AVG = ascii(',"avgViewers":');
const PEAK = ascii(',"peakViewers":');
const MIN = ascii(',"minViewers":');
const SAMPLES = ascii(',"sampleCount":');
const UNIQUES = ascii(',"uniqueViewers":');
const SKETCH = ascii(',"visitorSketch":"');
/**
 * Upper bound of one encoded item without its sketch's base64: the fixed text, 24-byte id and
 * timestamp, widest numbers, the comma before it.
 */
const MAX_ITEM_BYTES = 160 + 2 * AUCTION_ID_LENGTH + 1 + UNIQUES.length + 10 + SKETCH.length + 1;
/**
 * The most one batch body takes: under the backend's default BODY_LIMIT_BYTES (2 MiB). Sketches
 * make items unequal, so a batch ends at 5,000 items or at this size, whichever comes first.
 */
export const MAX_BATCH_BYTES = 1536 * 1024;

/** Bytes item `seq` takes in a batch body at most. */
export function itemBytes(outbox: SnapshotOutbox, seq: number): number {
  const sketch = outbox.sketchLengthOf(seq);
  return MAX_ITEM_BYTES + (sketch === 0 ? 0 : base64Length(sketch));
}

/** How many records from `from` (before `end`) fit in one batch body. */
export function batchLength(outbox: SnapshotOutbox, from: number, end: number): number {
  let bytes = OPEN.length + CLOSE.length;
  let seq = from;
  while (seq < end && seq - from < MAX_BATCH_SNAPSHOTS) {
    bytes += itemBytes(outbox, seq);
    if (bytes > MAX_BATCH_BYTES) break;
    seq++;
  }
  // Never an empty batch: one item always fits (a sketch is at most 4,097 bytes).
  return Math.max(1, seq - from);
}

/** The last window's timestamp text: a batch's records nearly always share one window. */
const windowText = new Uint8Array(ISO_TIMESTAMP_LENGTH);
let windowTextOf = Number.NaN;

/**
 * Encodes outbox records (as many as `batchLength` allows) as the body of `POST /api/v1/analytics/snapshots` straight into a
 * reusable buffer: no objects or strings per snapshot. (Writing each timestamp afresh would
 * box its epoch milliseconds, a number beyond V8's small integers, once per snapshot.)
 */
export function encodeBatch(outbox: SnapshotOutbox, from: number, count: number, target: Uint8Array): number {
  let at = writeBytes(target, 0, OPEN);
  const ids = outbox.ids;
  for (let seq = from; seq < from + count; seq++) {
    const windowStart = outbox.windowStartOf(seq);
    if (windowStart !== windowTextOf) {
      writeIsoTimestamp(windowText, 0, windowStart);
      windowTextOf = windowStart;
    }
    if (seq !== from) target[at++] = 44; // ','
    at = writeBytes(target, at, AUCTION_ID);
    const idOffset = outbox.idOffsetOf(seq);
    for (let i = 0; i < AUCTION_ID_LENGTH; i++) target[at + i] = ids[idOffset + i]!;
    at += AUCTION_ID_LENGTH;
    at = writeBytes(target, at, TIMESTAMP);
    at = writeBytes(target, at, windowText);
    at = writeBytes(target, at, VIEWER_COUNT);
    at = writeUint(target, at, outbox.lastOf(seq));
    at = writeBytes(target, at, AVG);
    at = writeAverage(target, at, outbox.sumOf(seq), outbox.samplesOf(seq));
    at = writeBytes(target, at, PEAK);
    at = writeUint(target, at, outbox.peakOf(seq));
    at = writeBytes(target, at, MIN);
    at = writeUint(target, at, outbox.minOf(seq));
    at = writeBytes(target, at, SAMPLES);
    at = writeUint(target, at, outbox.samplesOf(seq));
    const uniques = outbox.uniquesOf(seq);
    if (uniques >= 0) {
      at = writeBytes(target, at, UNIQUES);
      at = writeUint(target, at, uniques);
    }
    const sketch = outbox.sketchLengthOf(seq);
    if (sketch > 0) {
      at = writeBytes(target, at, SKETCH);
      at = writeBase64(target, at, outbox.sketches, outbox.sketchOffsetOf(seq), sketch);
      target[at++] = 34; // '"'
    }
    target[at++] = 125; // '}'
  }
  return writeBytes(target, at, CLOSE);
}
