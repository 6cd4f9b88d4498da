/** A growable list of numbers (latencies in ms) that ships cheaply over IPC as a Float64Array. */
export class Samples {
  private data: Float64Array;
  length = 0;

  constructor(initialCapacity = 1024) {
    this.data = new Float64Array(initialCapacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  toArray(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

export interface Distribution {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles of every sample given (merged from several workers). */
export function distribution(...parts: readonly Float64Array[]): Distribution {
  let n = 0;
  for (const part of parts) n += part.length;
  const all = new Float64Array(n);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  all.sort();
  const rank = (p: number): number => (n === 0 ? Number.NaN : (all[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))] ?? Number.NaN));
  let sum = 0;
  for (const value of all) sum += value;
  return {
    n,
    p50: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    max: n === 0 ? Number.NaN : (all[n - 1] ?? Number.NaN),
    mean: n === 0 ? Number.NaN : sum / n,
  };
}

/** Adds per-key counts (failure reasons, status codes) of several workers. */
export function mergeCounts(...parts: readonly Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) merged[key] = (merged[key] ?? 0) + value;
  }
  return merged;
}

export function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
