import { MAX_BATCH_SNAPSHOTS } from '@viewer-analytics/shared';
import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';
import { ascii, ISO_TIMESTAMP_LENGTH, writeAverage, writeBytes, writeIsoTimestamp, writeUint } from '../encoding/ascii.js';
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
/** Upper bound of one encoded item: the fixed text, 24-byte id and timestamp, widest numbers. */
const MAX_ITEM_BYTES = 160 + 2 * AUCTION_ID_LENGTH;
export const MAX_BATCH_BYTES = OPEN.length + CLOSE.length + MAX_BATCH_SNAPSHOTS * (MAX_ITEM_BYTES + 1);

/** The last window's timestamp text: a batch's records nearly always share one window. */
const windowText = new Uint8Array(ISO_TIMESTAMP_LENGTH);
let windowTextOf = Number.NaN;

/**
 * Encodes outbox records as the body of `POST /api/v1/analytics/snapshots` straight into a
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
    target[at++] = 125; // '}'
  }
  return writeBytes(target, at, CLOSE);
}
