import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';

const FILE_MAGIC = 0x56414f42; // "VAOB"
const FILE_VERSION = 1;
const HEADER_BYTES = 24;
const RECORD_BYTES = AUCTION_ID_LENGTH + 8 + 8 + 4 * 3 + 1;
const INITIAL_CAPACITY = 16_384;

/**
 * Every snapshot waits here until the backend has acknowledged it: a ring of fixed-size records
 * in typed arrays, addressed by ever-growing sequence numbers. It grows by doubling up to its
 * limit (the only allocation), then drops the oldest record, counting it.
 */
export class SnapshotOutbox {
  readonly maxRecords: number;
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

  constructor(maxRecords: number) {
    this.maxRecords = maxRecords;
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

  /** The records still undelivered, plus the last window flushed, as a file body. */
  serialize(lastFlushedWindow: number): Buffer {
    const buffer = Buffer.alloc(HEADER_BYTES + this.size * RECORD_BYTES);
    buffer.writeUInt32LE(FILE_MAGIC, 0);
    buffer.writeUInt32LE(FILE_VERSION, 4);
    buffer.writeDoubleLE(lastFlushedWindow, 8);
    buffer.writeUInt32LE(this.size, 16);
    let offset = HEADER_BYTES;
    for (let seq = this.head; seq < this.tail; seq++) {
      const at = seq % this.capacity;
      buffer.set(this.idBytes.subarray(at * AUCTION_ID_LENGTH, (at + 1) * AUCTION_ID_LENGTH), offset);
      offset += AUCTION_ID_LENGTH;
      offset = buffer.writeDoubleLE(this.windowStart[at]!, offset);
      offset = buffer.writeDoubleLE(this.sum[at]!, offset);
      offset = buffer.writeInt32LE(this.last[at]!, offset);
      offset = buffer.writeInt32LE(this.peak[at]!, offset);
      offset = buffer.writeInt32LE(this.min[at]!, offset);
      offset = buffer.writeUInt8(this.samples[at]!, offset);
    }
    return buffer;
  }

  /** Appends the records of a file body written by `serialize`; returns its last flushed window. */
  restore(buffer: Buffer): number {
    if (buffer.length < HEADER_BYTES || buffer.readUInt32LE(0) !== FILE_MAGIC || buffer.readUInt32LE(4) !== FILE_VERSION) {
      throw new Error('not a snapshot outbox file of this version');
    }
    const lastFlushedWindow = buffer.readDoubleLE(8);
    const count = buffer.readUInt32LE(16);
    if (buffer.length !== HEADER_BYTES + count * RECORD_BYTES) throw new Error('snapshot outbox file is truncated');
    for (let i = 0, offset = HEADER_BYTES; i < count; i++, offset += RECORD_BYTES) {
      const values = offset + AUCTION_ID_LENGTH;
      this.append(
        buffer,
        offset,
        buffer.readDoubleLE(values),
        buffer.readInt32LE(values + 16),
        buffer.readDoubleLE(values + 8),
        buffer.readInt32LE(values + 20),
        buffer.readInt32LE(values + 24),
        buffer.readUInt8(values + 28),
      );
    }
    return lastFlushedWindow;
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
