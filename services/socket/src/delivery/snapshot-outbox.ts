import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';

/**
 * Memory one record takes in the outbox's typed arrays (id, window, sum, last, peak, min, uniques,
 * samples, and where its visitor sketch's bytes are), besides those bytes.
 */
export const OUTBOX_RECORD_BYTES = AUCTION_ID_LENGTH + 8 + 8 + 4 * 4 + 1 + 8 + 2;
const INITIAL_SKETCH_BYTES = 64 * 1024;

/** What the outbox copies a window's visitor sketch from (a VisitorSketch, or a sketch's bytes in a file). */
export interface SketchSource {
  byteLength(): number;
  writeTo(target: Uint8Array, offset: number): number;
}
/** `uniquesOf` for a record without a count of visitors (one restored from an older file). */
export const UNKNOWN_UNIQUES = -1;
const INITIAL_CAPACITY = 16_384;

export interface OutboxLimits {
  /** Records kept at most (the memory bound). */
  readonly maxRecords: number;
  /** Bytes of visitor sketches kept at most; the oldest records go first beyond it (default: 64 bytes per record). */
  readonly maxSketchBytes?: number;
  /** A record whose window started this long before the newest record's is dropped. */
  readonly maxAgeMs: number;
}

/**
 * Every snapshot waits here until the backend has acknowledged it: a ring of fixed-size records
 * in typed arrays, addressed by ever-growing sequence numbers. It grows by doubling up to its
 * limit (the only allocation). It drops the oldest records, counting them, only when they are
 * older than the outage it is sized for or when memory is full: with N live auctions it holds
 * min(maxAge, maxRecords / N windows) of outage.
 */
export class SnapshotOutbox {
  readonly maxRecords: number;
  readonly maxAgeMs: number;
  /** Sequence number of the oldest record kept. */
  head = 0;
  /** Sequence number the next record gets. */
  tail = 0;
  dropped = 0;

  private capacity: number;
  private idBytes: Uint8Array;
  private windowStart: Float64Array;
  private sum: Float64Array;
  private last: Int32Array;
  private peak: Int32Array;
  private min: Int32Array;
  private samples: Uint8Array;
  private uniques: Int32Array;
  /**
   * The records' visitor sketches, one after another in a ring of bytes (each contiguous: one that
   * would cross the end starts over at 0), addressed by ever-growing offsets like the records:
   * nothing allocated per window once the ring is big enough.
   */
  private sketchBytes: Uint8Array;
  private readonly maxSketchBytes: number;
  /** Offset the next sketch is written at. */
  private sketchTail = 0;
  /** Each record's sketch offset and length (0: nobody came, or unknown). */
  private sketchStart: Float64Array;
  private sketchLength: Uint16Array;

  constructor({ maxRecords, maxAgeMs, maxSketchBytes }: OutboxLimits) {
    this.maxRecords = maxRecords;
    this.maxAgeMs = maxAgeMs;
    this.maxSketchBytes = Math.max(maxSketchBytes ?? maxRecords * 64, INITIAL_SKETCH_BYTES);
    this.sketchBytes = new Uint8Array(INITIAL_SKETCH_BYTES);
    this.capacity = Math.min(maxRecords, INITIAL_CAPACITY);
    this.idBytes = new Uint8Array(this.capacity * AUCTION_ID_LENGTH);
    this.windowStart = new Float64Array(this.capacity);
    this.sum = new Float64Array(this.capacity);
    this.last = new Int32Array(this.capacity);
    this.peak = new Int32Array(this.capacity);
    this.min = new Int32Array(this.capacity);
    this.samples = new Uint8Array(this.capacity);
    this.uniques = new Int32Array(this.capacity);
    this.sketchStart = new Float64Array(this.capacity);
    this.sketchLength = new Uint16Array(this.capacity);
  }

  get size(): number {
    return this.tail - this.head;
  }

  append(
    ids: Uint8Array,
    idOffset: number,
    windowStart: number,
    last: number,
    sum: number,
    peak: number,
    min: number,
    samples: number,
    uniques: number = UNKNOWN_UNIQUES,
    sketch: SketchSource | null = null,
  ): void {
    const oldestKept = windowStart - this.maxAgeMs;
    while (this.head < this.tail && this.windowStart[this.head % this.capacity]! < oldestKept) {
      this.head++;
      this.dropped++;
    }
    const sketchLength = sketch === null ? 0 : sketch.byteLength();
    const sketchAt = sketchLength === 0 ? this.sketchTail : this.reserveSketch(sketchLength);
    if (this.size === this.capacity) {
      if (this.capacity < this.maxRecords) this.grow();
      else {
        this.head++;
        this.dropped++;
      }
    }
    const at = this.tail % this.capacity;
    for (let i = 0; i < AUCTION_ID_LENGTH; i++) this.idBytes[at * AUCTION_ID_LENGTH + i] = ids[idOffset + i]!;
    this.windowStart[at] = windowStart;
    this.last[at] = last;
    this.sum[at] = sum;
    this.peak[at] = peak;
    this.min[at] = min;
    this.samples[at] = samples;
    this.uniques[at] = uniques;
    this.sketchStart[at] = sketchAt;
    this.sketchLength[at] = sketchLength;
    if (sketch !== null && sketchLength > 0) {
      sketch.writeTo(this.sketchBytes, sketchAt % this.sketchBytes.length);
      this.sketchTail = sketchAt + sketchLength;
    }
    this.tail++;
  }

  /** Appends a copy of a record still held (one to send again later, after those queued now). */
  requeue(sequence: number): void {
    const at = sequence % this.capacity;
    this.requeued.sequence = sequence;
    // Passed by value before `append` may grow or wrap the arrays; the id is read from the old array.
    this.append(
      this.idBytes,
      at * AUCTION_ID_LENGTH,
      this.windowStart[at]!,
      this.last[at]!,
      this.sum[at]!,
      this.peak[at]!,
      this.min[at]!,
      this.samples[at]!,
      this.uniques[at],
      this.sketchLength[at] === 0 ? null : this.requeued,
    );
  }

  /** The sketch of the record being requeued, read where it is when `append` copies it (after any growth). */
  private readonly requeued = {
    sequence: 0,
    byteLength: (): number => this.sketchLengthOf(this.requeued.sequence),
    writeTo: (target: Uint8Array, offset: number): number => {
      const { sequence } = this.requeued;
      const from = this.sketchOffsetOf(sequence);
      const length = this.sketchLengthOf(sequence);
      target.copyWithin(offset, from, from + length);
      return offset + length;
    },
  };

  /** Forgets every record before `sequence` (they were delivered). */
  acknowledge(sequence: number): void {
    if (sequence > this.head) this.head = Math.min(sequence, this.tail);
  }

  // Readers for the batch encoder, by sequence number.
  idOffsetOf(sequence: number): number {
    return (sequence % this.capacity) * AUCTION_ID_LENGTH;
  }
  get ids(): Uint8Array {
    return this.idBytes;
  }
  windowStartOf(sequence: number): number {
    return this.windowStart[sequence % this.capacity]!;
  }
  lastOf(sequence: number): number {
    return this.last[sequence % this.capacity]!;
  }
  sumOf(sequence: number): number {
    return this.sum[sequence % this.capacity]!;
  }
  peakOf(sequence: number): number {
    return this.peak[sequence % this.capacity]!;
  }
  minOf(sequence: number): number {
    return this.min[sequence % this.capacity]!;
  }
  samplesOf(sequence: number): number {
    return this.samples[sequence % this.capacity]!;
  }
  /** Distinct visitors of the record's window, or UNKNOWN_UNIQUES. */
  uniquesOf(sequence: number): number {
    return this.uniques[sequence % this.capacity]!;
  }
  /** The bytes holding every record's visitor sketch: the record's are at sketchOffsetOf, sketchLengthOf long. */
  get sketches(): Uint8Array {
    return this.sketchBytes;
  }
  sketchOffsetOf(sequence: number): number {
    return this.sketchStart[sequence % this.capacity]! % this.sketchBytes.length;
  }
  /** 0 when the record has no sketch (nobody came, or unknown). */
  sketchLengthOf(sequence: number): number {
    return this.sketchLength[sequence % this.capacity]!;
  }

  /**
   * Where a sketch of `length` bytes goes: after the last one, or at the ring's start when it would
   * cross the end. Grows the ring, or drops the oldest records when it may not grow.
   */
  private reserveSketch(length: number): number {
    for (;;) {
      const size = this.sketchBytes.length;
      let at = this.sketchTail;
      if ((at % size) + length > size) at += size - (at % size);
      const oldest = this.head < this.tail ? this.sketchStart[this.head % this.capacity]! : at;
      if (at + length - oldest <= size) return at;
      if (size < this.maxSketchBytes) this.growSketches();
      else {
        this.head++;
        this.dropped++;
      }
    }
  }

  /** Doubles the ring; each live sketch keeps its offset, so it stays contiguous (offset mod 2n is offset mod n or n more). */
  private growSketches(): void {
    const old = this.sketchBytes;
    const bytes = new Uint8Array(old.length * 2);
    for (let seq = this.head; seq < this.tail; seq++) {
      const at = seq % this.capacity;
      const length = this.sketchLength[at]!;
      if (length === 0) continue;
      const start = this.sketchStart[at]!;
      bytes.set(old.subarray(start % old.length, (start % old.length) + length), start % bytes.length);
    }
    this.sketchBytes = bytes;
  }

  private grow(): void {
    const capacity = Math.min(this.maxRecords, this.capacity * 2);
    const idBytes = new Uint8Array(capacity * AUCTION_ID_LENGTH);
    const windowStart = new Float64Array(capacity);
    const sum = new Float64Array(capacity);
    const last = new Int32Array(capacity);
    const peak = new Int32Array(capacity);
    const min = new Int32Array(capacity);
    const samples = new Uint8Array(capacity);
    const uniques = new Int32Array(capacity);
    const sketchStart = new Float64Array(capacity);
    const sketchLength = new Uint16Array(capacity);
    for (let seq = this.head; seq < this.tail; seq++) {
      const from = seq % this.capacity;
      const to = seq % capacity;
      idBytes.set(this.idBytes.subarray(from * AUCTION_ID_LENGTH, (from + 1) * AUCTION_ID_LENGTH), to * AUCTION_ID_LENGTH);
      windowStart[to] = this.windowStart[from]!;
      sum[to] = this.sum[from]!;
      last[to] = this.last[from]!;
      peak[to] = this.peak[from]!;
      min[to] = this.min[from]!;
      samples[to] = this.samples[from]!;
      uniques[to] = this.uniques[from]!;
      sketchStart[to] = this.sketchStart[from]!;
      sketchLength[to] = this.sketchLength[from]!;
    }
    this.capacity = capacity;
    this.idBytes = idBytes;
    this.windowStart = windowStart;
    this.sum = sum;
    this.last = last;
    this.peak = peak;
    this.min = min;
    this.samples = samples;
    this.uniques = uniques;
    this.sketchStart = sketchStart;
    this.sketchLength = sketchLength;
  }
}
