/**
 * A count of distinct visitors that keeps no visitor: a HyperLogLog-style sketch over uint32 hashes.
 *
 * While small it is exact: the sorted list of distinct hashes (4 bytes each). Past EXACT_LIMIT hashes
 * it switches to 4,096 registers (precision 12) read with Ertl's improved estimator ("New cardinality
 * estimation algorithms for HyperLogLog sketches", 2017), which needs no bias tables and stays unbiased
 * from a handful to billions of distinct hashes. Its relative standard error is 1.04 / √4096 ≈ 1.625 %.
 *
 * Both forms merge (union) with one another, so an auction's uniques over any range are the estimate
 * of its windows' merged sketches. Bytes: one format byte, then either the ascending hashes (big-endian)
 * or the 4,096 register bytes; never more than 4,097 bytes.
 */

const PRECISION = 12;
const REGISTERS = 1 << PRECISION;
/** Bits of the hash left after the register index; a register holds 0..REMAINING_BITS + 1. */
const REMAINING_BITS = 32 - PRECISION;
const MAX_RANK = REMAINING_BITS + 1;
/** The exact list is kept while it is no bigger than the registers would be. */
const EXACT_LIMIT = REGISTERS / 4;
const FORMAT_EXACT = 1;
const FORMAT_DENSE = 2;
/** The largest toBytes() result, for bounding what a reader accepts. */
export const VISITOR_SKETCH_MAX_BYTES = 1 + REGISTERS;

export class VisitorSketch {
  /** Relative standard error of estimate() once the sketch has left its exact range (1.04 / √4096). */
  static readonly RELATIVE_STANDARD_ERROR = 1.04 / Math.sqrt(REGISTERS);
  /** Distinct hashes counted exactly before the sketch switches to registers. */
  static readonly EXACT_LIMIT = EXACT_LIMIT;

  /** Sorted distinct hashes while exact; its capacity grows on demand and is kept across clear(). */
  private exact = new Uint32Array(8);
  private exactCount = 0;
  /** The registers once dense (null while exact); kept across clear() so a pooled sketch reuses them. */
  private registers: Uint8Array | null = null;
  private dense = false;

  /** Counts a uint32 hash; true when the sketch changed (a new hash, or a register raised). */
  add(hash: number): boolean {
    const h = hash >>> 0;
    if (this.dense) return this.addToRegisters(h);
    const at = this.searchExact(h);
    if (at < this.exactCount && this.exact[at] === h) return false;
    if (this.exactCount === EXACT_LIMIT) {
      this.toDense();
      return this.addToRegisters(h);
    }
    this.ensureExactCapacity(this.exactCount + 1);
    this.exact.copyWithin(at + 1, at, this.exactCount);
    this.exact[at] = h;
    this.exactCount += 1;
    return true;
  }

  /** Makes this sketch the union of itself and `other` (which is left unchanged). */
  merge(other: VisitorSketch): void {
    if (other === this) return;
    if (!this.dense && !other.dense) {
      this.mergeExact(other);
      return;
    }
    if (!this.dense) this.toDense();
    const registers = this.registers as Uint8Array;
    if (other.dense) {
      const theirs = other.registers as Uint8Array;
      for (let i = 0; i < REGISTERS; i++) {
        const rank = theirs[i] ?? 0;
        if (rank > (registers[i] ?? 0)) registers[i] = rank;
      }
      return;
    }
    for (let i = 0; i < other.exactCount; i++) this.addToRegisters(other.exact[i] ?? 0);
  }

  /** Distinct hashes counted: exact while in the exact range, otherwise the rounded estimate. */
  estimate(): number {
    if (!this.dense) return this.exactCount;
    return Math.round(ertlEstimate(this.registers as Uint8Array));
  }

  /** True when the sketch is still an exact list (its estimate is the exact count of distinct hashes). */
  isExact(): boolean {
    return !this.dense;
  }

  toBytes(): Uint8Array {
    const bytes = new Uint8Array(this.byteLength());
    this.writeTo(bytes, 0);
    return bytes;
  }

  /** Length of toBytes(). */
  byteLength(): number {
    return this.dense ? 1 + REGISTERS : 1 + 4 * this.exactCount;
  }

  /** Writes the bytes of toBytes() into `target` at `offset` without allocating; returns the offset after them. */
  writeTo(target: Uint8Array, offset: number): number {
    if (this.dense) {
      target[offset] = FORMAT_DENSE;
      target.set(this.registers as Uint8Array, offset + 1);
      return offset + 1 + REGISTERS;
    }
    target[offset] = FORMAT_EXACT;
    let at = offset + 1;
    for (let i = 0; i < this.exactCount; i++) {
      const hash = this.exact[i] ?? 0;
      target[at] = hash >>> 24;
      target[at + 1] = (hash >>> 16) & 0xff;
      target[at + 2] = (hash >>> 8) & 0xff;
      target[at + 3] = hash & 0xff;
      at += 4;
    }
    return at;
  }

  /** Reads toBytes() output back; throws an Error naming what is wrong with anything else. */
  static fromBytes(bytes: Uint8Array): VisitorSketch {
    if (bytes.length === 0) throw new Error('visitor sketch: empty input');
    const sketch = new VisitorSketch();
    const format = bytes[0];
    if (format === FORMAT_EXACT) {
      const body = bytes.length - 1;
      if (body % 4 !== 0) throw new Error(`visitor sketch: exact form of ${bytes.length} bytes is not 1 + 4 per hash`);
      const count = body / 4;
      if (count > EXACT_LIMIT) throw new Error(`visitor sketch: exact form holds ${count} hashes, more than ${EXACT_LIMIT}`);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      sketch.ensureExactCapacity(count);
      let previous = -1;
      for (let i = 0; i < count; i++) {
        const hash = view.getUint32(1 + 4 * i, false);
        if (hash <= previous) throw new Error(`visitor sketch: exact hashes not strictly ascending at index ${i}`);
        sketch.exact[i] = hash;
        previous = hash;
      }
      sketch.exactCount = count;
      return sketch;
    }
    if (format === FORMAT_DENSE) {
      if (bytes.length !== 1 + REGISTERS) {
        throw new Error(`visitor sketch: dense form must be ${1 + REGISTERS} bytes, got ${bytes.length}`);
      }
      const registers = bytes.slice(1);
      let nonZero = 0;
      for (let i = 0; i < REGISTERS; i++) {
        const rank = registers[i] ?? 0;
        if (rank > MAX_RANK) throw new Error(`visitor sketch: register ${i} holds ${rank}, above ${MAX_RANK}`);
        if (rank !== 0) nonZero += 1;
      }
      // A sketch only turns dense after EXACT_LIMIT distinct hashes, which cannot leave every register empty.
      if (nonZero === 0) throw new Error('visitor sketch: dense form with every register empty');
      sketch.registers = registers;
      sketch.dense = true;
      return sketch;
    }
    throw new Error(`visitor sketch: unknown format byte ${String(format)}`);
  }

  /** Empties the sketch, keeping its buffers for reuse. */
  clear(): void {
    this.exactCount = 0;
    if (this.dense) (this.registers as Uint8Array).fill(0);
    this.dense = false;
  }

  private addToRegisters(hash: number): boolean {
    const registers = this.registers as Uint8Array;
    const index = hash >>> REMAINING_BITS;
    // Leading zeros of the remaining bits, plus one; MAX_RANK when they are all zero.
    const rest = (hash << PRECISION) >>> 0;
    const rank = rest === 0 ? MAX_RANK : Math.clz32(rest) + 1;
    if (rank <= (registers[index] ?? 0)) return false;
    registers[index] = rank;
    return true;
  }

  private toDense(): void {
    if (this.registers === null) this.registers = new Uint8Array(REGISTERS);
    this.dense = true;
    for (let i = 0; i < this.exactCount; i++) this.addToRegisters(this.exact[i] ?? 0);
    this.exactCount = 0;
  }

  /** First index whose hash is ≥ `hash` (binary search of the sorted exact list). */
  private searchExact(hash: number): number {
    let low = 0;
    let high = this.exactCount;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.exact[middle] ?? 0) < hash) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private ensureExactCapacity(needed: number): void {
    if (needed <= this.exact.length) return;
    let capacity = this.exact.length;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint32Array(capacity);
    grown.set(this.exact.subarray(0, this.exactCount));
    this.exact = grown;
  }

  /** Union of two exact lists, merged from the back in place; turns dense when past EXACT_LIMIT. */
  private mergeExact(other: VisitorSketch): void {
    const ours = this.exactCount;
    const theirs = other.exactCount;
    this.ensureExactCapacity(ours + theirs);
    const list = this.exact;
    let i = ours - 1;
    let j = theirs - 1;
    let write = ours + theirs - 1;
    while (j >= 0) {
      const mine = i >= 0 ? (list[i] ?? 0) : -1;
      const their = other.exact[j] ?? 0;
      if (mine > their) {
        list[write--] = mine;
        i -= 1;
      } else {
        list[write--] = their;
        j -= 1;
      }
    }
    // Drop the duplicates the two lists shared.
    let count = 0;
    for (let k = 0; k < ours + theirs; k++) {
      const hash = list[k] ?? 0;
      if (count === 0 || hash !== list[count - 1]) list[count++] = hash;
    }
    this.exactCount = count;
    if (count > EXACT_LIMIT) this.toDense();
  }
}

/** Ertl's improved raw estimator over the register histogram (no bias tables, no range switches). */
function ertlEstimate(registers: Uint8Array): number {
  const histogram = new Float64Array(MAX_RANK + 1);
  for (let i = 0; i < REGISTERS; i++) {
    const rank = registers[i] ?? 0;
    histogram[rank] = (histogram[rank] ?? 0) + 1;
  }
  let z = REGISTERS * tau(1 - (histogram[MAX_RANK] ?? 0) / REGISTERS);
  for (let k = REMAINING_BITS; k >= 1; k--) z = 0.5 * (z + (histogram[k] ?? 0));
  z += REGISTERS * sigma((histogram[0] ?? 0) / REGISTERS);
  return (REGISTERS * REGISTERS) / (2 * Math.LN2 * z);
}

function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z !== previous);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (z !== previous);
  return z / 3;
}
