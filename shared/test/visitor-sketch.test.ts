import { describe, expect, it } from 'vitest';
import { mix32 } from '@viewer-analytics/testkit';
import { VISITOR_SKETCH_MAX_BYTES, VisitorSketch } from '../src/visitor-sketch.js';

/** A sketch of the distinct hashes mix32(start) .. mix32(start + count - 1). */
function sketchOf(start: number, count: number): VisitorSketch {
  const sketch = new VisitorSketch();
  for (let i = start; i < start + count; i++) sketch.add(mix32(i));
  return sketch;
}

const ERROR_BAR = 3 * VisitorSketch.RELATIVE_STANDARD_ERROR;

describe('VisitorSketch', () => {
  it('publishes the standard error of 4,096 registers', () => {
    expect(VisitorSketch.RELATIVE_STANDARD_ERROR).toBeCloseTo(0.01625, 5);
  });

  it('counts small sets exactly, duplicates once, and says when it changed', () => {
    const sketch = new VisitorSketch();
    expect(sketch.estimate()).toBe(0);
    expect(sketch.add(7)).toBe(true);
    expect(sketch.add(7)).toBe(false);
    expect(sketch.add(0)).toBe(true);
    expect(sketch.add(0xffffffff)).toBe(true);
    expect(sketch.estimate()).toBe(3);
    for (let i = 0; i < VisitorSketch.EXACT_LIMIT; i++) sketch.add(mix32(i + 100));
    for (let i = 0; i < VisitorSketch.EXACT_LIMIT; i++) sketch.add(mix32(i + 100));
    // 3 + EXACT_LIMIT distinct hashes: past the exact range, so the estimate is within the error bar.
    expect(sketch.isExact()).toBe(false);
    expect(Math.abs(sketch.estimate() / (VisitorSketch.EXACT_LIMIT + 3) - 1)).toBeLessThan(ERROR_BAR);

    const exact = sketchOf(0, VisitorSketch.EXACT_LIMIT);
    expect(exact.isExact()).toBe(true);
    expect(exact.estimate()).toBe(VisitorSketch.EXACT_LIMIT);
  });

  it.each([10_000, 100_000, 1_000_000])('estimates %i distinct hashes within 3 standard errors', (count) => {
    const sketch = sketchOf(count, count);
    const error = sketch.estimate() / count - 1;
    expect(Math.abs(error)).toBeLessThan(ERROR_BAR);
  });

  it('keeps the error bar across many independent sets of 5,000', () => {
    // Mean absolute error over 40 disjoint sets should sit near 0.8 standard errors, far below 3.
    let sum = 0;
    for (let run = 0; run < 40; run++) sum += Math.abs(sketchOf(1_000_000 + run * 5_000, 5_000).estimate() / 5_000 - 1);
    expect(sum / 40).toBeLessThan(1.5 * VisitorSketch.RELATIVE_STANDARD_ERROR);
  });

  it('merges as a union: exact, mixed and dense, associative, commutative and idempotent', () => {
    const a = sketchOf(0, 300);
    const b = sketchOf(200, 300);
    const union = sketchOf(0, 500);
    const ab = sketchOf(0, 300);
    ab.merge(b);
    expect(ab.estimate()).toBe(500);
    expect(ab.toBytes()).toEqual(union.toBytes());
    ab.merge(b);
    ab.merge(ab);
    expect(ab.toBytes()).toEqual(union.toBytes());

    const big = sketchOf(0, 50_000);
    const c = sketchOf(40_000, 20_000);
    const left = sketchOf(0, 50_000); // (big ∪ a) ∪ c
    left.merge(a);
    left.merge(c);
    const right = sketchOf(40_000, 20_000); // a ∪ (c ∪ big), in another order
    right.merge(big);
    const aFirst = sketchOf(0, 300);
    aFirst.merge(right);
    expect(left.toBytes()).toEqual(aFirst.toBytes());
    expect(left.toBytes()).toEqual(sketchOf(0, 60_000).toBytes());
    expect(Math.abs(left.estimate() / 60_000 - 1)).toBeLessThan(ERROR_BAR);

    // Two exact halves whose union passes the exact range turn dense, the same as adding them one by one.
    const half = VisitorSketch.EXACT_LIMIT / 2 + 10;
    const first = sketchOf(0, half);
    first.merge(sketchOf(half, half));
    expect(first.isExact()).toBe(false);
    expect(first.toBytes()).toEqual(sketchOf(0, 2 * half).toBytes());
  });

  it('round-trips its bytes in both forms, compactly', () => {
    for (const count of [0, 1, 5, VisitorSketch.EXACT_LIMIT, 5_000]) {
      const sketch = sketchOf(0, count);
      const bytes = sketch.toBytes();
      expect(bytes.length).toBeLessThanOrEqual(VISITOR_SKETCH_MAX_BYTES);
      if (count <= VisitorSketch.EXACT_LIMIT) expect(bytes.length).toBe(1 + 4 * count);
      const back = VisitorSketch.fromBytes(bytes);
      expect(back.estimate()).toBe(sketch.estimate());
      expect(back.toBytes()).toEqual(bytes);
    }
    // A view into a larger buffer reads the same.
    const bytes = sketchOf(0, 3).toBytes();
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes, 4);
    expect(VisitorSketch.fromBytes(padded.subarray(4, 4 + bytes.length)).estimate()).toBe(3);
  });

  it('refuses corrupt or foreign bytes with a clear error', () => {
    const exact = sketchOf(0, 3).toBytes();
    const dense = sketchOf(0, 5_000).toBytes();
    expect(() => VisitorSketch.fromBytes(new Uint8Array())).toThrow(/empty/);
    expect(() => VisitorSketch.fromBytes(Uint8Array.of(9, 0, 0, 0, 1))).toThrow(/unknown format byte 9/);
    expect(() => VisitorSketch.fromBytes(exact.subarray(0, exact.length - 1))).toThrow(/not 1 \+ 4 per hash/);
    const unordered = exact.slice();
    unordered.set(exact.subarray(5, 9), 1);
    unordered.set(exact.subarray(1, 5), 5);
    expect(() => VisitorSketch.fromBytes(unordered)).toThrow(/not strictly ascending at index 1/);
    const repeated = exact.slice();
    repeated.set(exact.subarray(1, 5), 5);
    expect(() => VisitorSketch.fromBytes(repeated)).toThrow(/not strictly ascending/);
    const tooMany = sketchOf(0, VisitorSketch.EXACT_LIMIT).toBytes();
    const longer = new Uint8Array(tooMany.length + 4);
    longer.set(tooMany);
    longer.set([0xff, 0xff, 0xff, 0xff], tooMany.length);
    expect(() => VisitorSketch.fromBytes(longer)).toThrow(/more than/);
    expect(() => VisitorSketch.fromBytes(dense.subarray(0, 100))).toThrow(/dense form must be/);
    const badRegister = dense.slice();
    badRegister[10] = 40;
    expect(() => VisitorSketch.fromBytes(badRegister)).toThrow(/register 9 holds 40/);
    const empty = new Uint8Array(dense.length);
    empty[0] = dense[0]!;
    expect(() => VisitorSketch.fromBytes(empty)).toThrow(/every register empty/);
  });

  it('clears for reuse, in both forms', () => {
    const sketch = sketchOf(0, 5_000);
    sketch.clear();
    expect(sketch.estimate()).toBe(0);
    expect(sketch.isExact()).toBe(true);
    sketch.add(1);
    sketch.add(2);
    expect(sketch.toBytes()).toEqual(Uint8Array.of(1, 0, 0, 0, 1, 0, 0, 0, 2));
    sketch.clear();
    for (let i = 0; i < 5_000; i++) sketch.add(mix32(i));
    expect(sketch.toBytes()).toEqual(sketchOf(0, 5_000).toBytes());
  });
});
