import type { ViewerPoint } from '@viewer-analytics/shared';

/** What a stored window contributes to the series. */
export interface SeriesWindow {
  readonly timestamp: Date;
  readonly viewerCount: number;
  readonly avgViewers: number;
  readonly peakViewers: number;
  readonly minViewers: number;
  readonly sampleCount: number;
}

export interface ViewerSeries {
  /** Time one point covers: the window, or the window times a power of two; points start at multiples of it since the epoch. */
  readonly bucketMs: number;
  readonly downsampled: boolean;
  readonly points: ViewerPoint[];
}

interface Bucket {
  start: number;
  timestamp: Date;
  viewerCount: number;
  weightedSum: number;
  peakViewers: number;
  minViewers: number;
  sampleCount: number;
}

function merge(into: Bucket, from: Omit<Bucket, 'start' | 'timestamp'>): void {
  into.viewerCount = from.viewerCount; // the later one: windows come oldest first
  into.weightedSum += from.weightedSum;
  into.peakViewers = Math.max(into.peakViewers, from.peakViewers);
  into.minViewers = Math.min(into.minViewers, from.minViewers);
  into.sampleCount += from.sampleCount;
}

/** Averages travel with four decimals, like the snapshots the socket server sends. */
const round4 = (value: number): number => Math.round(value * 10_000) / 10_000;

/**
 * Folds windows (oldest first) into at most `maxPoints` points without holding more than that,
 * in one pass: one point per window while they fit; whenever they do not, buckets twice as long
 * (aligned to multiples of their length since the epoch, so two buckets merge into one), the
 * points so far merged into them. Merging: peak the largest, minimum the smallest, average
 * weighted by samples, viewerCount the last window's, samples summed.
 */
export async function viewerSeries(windows: AsyncIterable<SeriesWindow>, { windowMs, maxPoints }: { windowMs: number; maxPoints: number }): Promise<ViewerSeries> {
  let bucketMs = windowMs;
  const buckets: Bucket[] = [];

  const add = (bucket: Bucket): void => {
    const start = Math.floor(bucket.timestamp.getTime() / bucketMs);
    const last = buckets.at(-1);
    if (last !== undefined && last.start === start) merge(last, bucket);
    else buckets.push({ ...bucket, start });
  };

  for await (const window of windows) {
    add({
      start: 0,
      timestamp: window.timestamp,
      viewerCount: window.viewerCount,
      weightedSum: window.avgViewers * window.sampleCount,
      peakViewers: window.peakViewers,
      minViewers: window.minViewers,
      sampleCount: window.sampleCount,
    });
    while (buckets.length > maxPoints) {
      bucketMs *= 2;
      for (const bucket of buckets.splice(0)) add(bucket);
    }
  }

  return {
    bucketMs,
    downsampled: bucketMs !== windowMs,
    points: buckets.map((bucket) => ({
      timestamp: bucket.timestamp.toISOString(),
      viewerCount: bucket.viewerCount,
      avgViewers: round4(bucket.weightedSum / bucket.sampleCount),
      peakViewers: bucket.peakViewers,
      minViewers: bucket.minViewers,
      sampleCount: bucket.sampleCount,
    })),
  };
}
