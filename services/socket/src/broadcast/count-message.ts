import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';
import { ascii, ISO_TIMESTAMP_LENGTH, writeBytes, writeIsoTimestamp, writeUint } from '../encoding/ascii.js';

// The frame is `{"type":"viewerCountUpdate","auctionId":"…","count":N,"at":"…"}`.
const PREFIX = ascii('{"type":"viewerCountUpdate","auctionId":"');
const COUNT = ascii('","count":');
const AT = ascii(',"at":"');
const END = ascii('"}');
const FIXED_LENGTH = PREFIX.length + AUCTION_ID_LENGTH + COUNT.length + AT.length + ISO_TIMESTAMP_LENGTH + END.length;
const MAX_COUNT_DIGITS = 10;

/**
 * Encodes viewerCountUpdate frames into one scratch buffer and hands out views of it made
 * in advance for every possible length, so that a frame costs no allocation. A frame is valid
 * until the next `encode`: publish or send it at once (uWS copies it).
 */
export class CountMessageEncoder {
  private readonly scratch = new Uint8Array(FIXED_LENGTH + MAX_COUNT_DIGITS);
  private readonly viewsByDigits: Uint8Array[] = [];
  private readonly at = new Uint8Array(ISO_TIMESTAMP_LENGTH);
  private atMs = Number.NaN;

  constructor() {
    writeBytes(this.scratch, 0, PREFIX);
    for (let digits = 0; digits <= MAX_COUNT_DIGITS; digits++) {
      this.viewsByDigits.push(this.scratch.subarray(0, FIXED_LENGTH + digits));
    }
  }

  /** Sets the `at` of the frames encoded next. */
  setTime(epochMs: number): void {
    // Every join sets it, several per millisecond under churn: the same millisecond is kept as it is.
    if (epochMs === this.atMs) return;
    this.atMs = epochMs;
    writeIsoTimestamp(this.at, 0, epochMs);
  }

  encode(ids: Uint8Array, idOffset: number, count: number): Uint8Array {
    const scratch = this.scratch;
    let offset = PREFIX.length;
    for (let i = 0; i < AUCTION_ID_LENGTH; i++) scratch[offset + i] = ids[idOffset + i]!;
    offset = writeBytes(scratch, offset + AUCTION_ID_LENGTH, COUNT);
    const countEnd = writeUint(scratch, offset, count);
    offset = writeBytes(scratch, countEnd, AT);
    offset = writeBytes(scratch, offset, this.at);
    writeBytes(scratch, offset, END);
    return this.viewsByDigits[countEnd - (PREFIX.length + AUCTION_ID_LENGTH + COUNT.length)]!;
  }
}
