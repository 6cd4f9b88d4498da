import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';

/** Memory one record takes in the outbox's typed arrays (id, window, sum, last, peak, min, samples). */
export const OUTBOX_RECORD_BYTES = AUCTION_ID_LENGTH + 8 + 8 + 4 * 3 + 1;
const INITIAL_CAPACITY = 16_384;

export interface OutboxLimits {
  /** Records kept at most (the memory bound). */
  readonly maxRecords: number;
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

  constructor({ maxRecords, maxAgeMs }: OutboxLimits) {
    this.maxRecords = maxRecords;
    this.maxAgeMs = maxAgeMs;
    this.capacity = Math.min(maxRecords, INITIAL_CAPACITY);
    this.idBytes = new Uint8Array(this.capacity * AUCTION_ID_LENGTH);
    this.windowStart = new Float64Array(this.capacity);
    this.sum = new Float64Array(this.capacity);
    this.last = new Int32Array(this.capacity);
    this.peak = new Int32Array(this.capacity);
    this.min = new Int32Array(this.capacity);
    this.samples = new Uint8Array(this.capacity);
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
  ): void {
    const oldestKept = windowStart - this.maxAgeMs;
    while (this.head < this.tail && this.windowStart[this.head % this.capacity]! < oldestKept) {
      this.head++;
      this.dropped++;
    }
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
    this.tail++;
  }

  /** Appends a copy of a record still held (one to send again later, after those queued now). */
  requeue(sequence: number): void {
    const at = sequence % this.capacity;
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
    );
  }

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

  private grow(): void {
    const capacity = Math.min(this.maxRecords, this.capacity * 2);
    const idBytes = new Uint8Array(capacity * AUCTION_ID_LENGTH);
    const windowStart = new Float64Array(capacity);
    const sum = new Float64Array(capacity);
    const last = new Int32Array(capacity);
    const peak = new Int32Array(capacity);
    const min = new Int32Array(capacity);
    const samples = new Uint8Array(capacity);
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
    }
    this.capacity = capacity;
    this.idBytes = idBytes;
    this.windowStart = windowStart;
    this.sum = sum;
    this.last = last;
    this.peak = peak;
    this.min = min;
    this.samples = samples;
  }
}
