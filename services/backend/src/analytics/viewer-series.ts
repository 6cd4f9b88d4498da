import { VisitorSketch, type ViewerPoint, type ViewerSummary } from '@viewer-analytics/shared';
import { HOUR_QUARTERS, QUARTER_FIGURES, QUARTER_MS, Q_LAST_COUNT, Q_MIN, Q_PEAK, Q_SAMPLES, Q_WEIGHTED, type HourSlice } from './hour-figures.js';
import { RangeSummary, round4, union, viewerMinutes, windowSketch, type SeriesOptions } from './range-summary.js';

export interface ViewerSeries {
  /** Time one point covers: the window, or a longer step of bucketLadder; points start at multiples of it since the epoch. */
  readonly bucketMs: number;
  readonly downsampled: boolean;
  readonly points: ViewerPoint[];
  /** Over every window of the range, not the points. */
  readonly summary: ViewerSummary;
}

interface Bucket {
  start: number;
  timestamp: Date;
  viewerCount: number;
  weightedSum: number;
  peakViewers: number;
  minViewers: number;
  sampleCount: number;
  /** Union of the windows' visitor sketches; null while none of them had one. */
  visitors: VisitorSketch | null;
}

function merge(into: Bucket, from: Omit<Bucket, 'start' | 'timestamp'>): void {
  into.viewerCount = from.viewerCount; // the later one: windows come oldest first
  into.weightedSum += from.weightedSum;
  into.peakViewers = Math.max(into.peakViewers, from.peakViewers);
  into.minViewers = Math.min(into.minViewers, from.minViewers);
  into.sampleCount += from.sampleCount;
  into.visitors = union(into.visitors, from.visitors);
}

/** `factor`'s successor in 1, 2, 5, 10, 20, 50, …: the round multiples people read off a time axis. */
const nextRoundFactor = (factor: number): number => (String(factor).startsWith('2') ? factor * 2.5 : factor * 2);

/**
 * The bucket lengths a series may take, shortest first: the window; its 2, 5, 10, 20… multiples
 * shorter than a quarter hour; then a quarter hour, doubling. From a quarter hour up a bucket is
 * whole quarter hours, which a settled hour's figures hold, so long charts need no windows.
 */
export function* bucketLadder(windowMs: number): Generator<number, never> {
  yield windowMs;
  for (let factor = 2; windowMs * factor < QUARTER_MS; factor = nextRoundFactor(factor)) yield windowMs * factor;
  for (let bucket = QUARTER_MS; ; bucket *= 2) if (bucket > windowMs) yield bucket;
}

/** The starts of every window the slices hold, oldest first. */
function windowStarts(slices: readonly HourSlice[], windowMs: number): number[] {
  const starts: number[] = [];
  for (const slice of slices) {
    if ('figures' in slice) slice.figures.forEachStart(slice.hour, windowMs, (start) => starts.push(start));
    else for (const window of slice.windows) starts.push(window.timestamp.getTime());
  }
  return starts;
}

/** Buckets of `bucketMs` these starts (oldest first) fall in. */
function bucketsHolding(starts: readonly number[], bucketMs: number): number {
  let count = 0;
  let last = NaN;
  for (const start of starts) {
    const bucket = Math.floor(start / bucketMs);
    if (bucket !== last) {
      count += 1;
      last = bucket;
    }
  }
  return count;
}

/** The shortest bucket of bucketLadder that leaves at most maxPoints points: one per window while they fit. */
export function seriesBucket(slices: readonly HourSlice[], { windowMs, maxPoints }: Pick<SeriesOptions, 'windowMs' | 'maxPoints'>): number {
  const starts = windowStarts(slices, windowMs);
  for (const bucketMs of bucketLadder(windowMs)) if (bucketsHolding(starts, bucketMs) <= maxPoints) return bucketMs;
  throw new Error('unreachable: the ladder grows without end');
}

/**
 * Whether viewerSeries needs these hours as windows: some come as figures, and the buckets
 * (seriesBucket's) are shorter than whole quarter hours. Their windows start where the figures
 * say, so the bucket stays the same.
 */
export function seriesNeedsWindows(slices: readonly HourSlice[], bucketMs: number): boolean {
  return bucketMs % QUARTER_MS !== 0 && slices.some((slice) => 'figures' in slice);
}

/**
 * An auction's slices (oldest first) as at most `maxPoints` points: one per window while they fit;
 * else buckets of the shortest step of bucketLadder that fits, aligned to multiples of their length
 * since the epoch. Merging: peak the largest, minimum the smallest, average weighted by samples,
 * viewerCount the last window's, samples summed, visitor sketches united; an hour's figures merge
 * quarter by quarter, the same as its windows would. The range's summary is taken from every window
 * (or hour's summary), its visitors at the end from the points' sketches, which hold every window's.
 */
export function viewerSeries(slices: readonly HourSlice[], options: SeriesOptions, bucketMs = seriesBucket(slices, options)): ViewerSeries {
  const { windowMs, sampleIntervalMs } = options;
  if (seriesNeedsWindows(slices, bucketMs)) {
    throw new Error(`buckets of ${String(bucketMs)} ms are not whole quarter hours: the series needs these hours' windows`);
  }
  const buckets: Bucket[] = [];
  const summary = new RangeSummary(options);

  /** `owned`: `visitors` is nobody else's (decoded just now), so the bucket may keep it rather than a copy. */
  const add = (entry: Omit<Bucket, 'start'>, owned: boolean): void => {
    const start = Math.floor(entry.timestamp.getTime() / bucketMs);
    const last = buckets.at(-1);
    if (last !== undefined && last.start === start) merge(last, entry);
    else buckets.push({ ...entry, start, visitors: owned ? entry.visitors : union(null, entry.visitors) });
  };

  for (const slice of slices) {
    if ('figures' in slice) {
      const { figures, hour } = slice;
      summary.addLater(figures.summary);
      let previous = -1;
      figures.forEachStart(hour, windowMs, (start) => {
        const quarter = Math.min(HOUR_QUARTERS - 1, Math.floor((start - hour) / QUARTER_MS));
        if (quarter === previous) return;
        previous = quarter;
        const at = quarter * QUARTER_FIGURES;
        const { quarters } = figures;
        add(
          {
            timestamp: new Date(start),
            viewerCount: quarters[at + Q_LAST_COUNT] ?? 0,
            weightedSum: quarters[at + Q_WEIGHTED] ?? 0,
            peakViewers: quarters[at + Q_PEAK] ?? 0,
            minViewers: quarters[at + Q_MIN] ?? 0,
            sampleCount: quarters[at + Q_SAMPLES] ?? 0,
            visitors: figures.visitors[quarter] ?? null,
          },
          false,
        );
      });
      continue;
    }
    for (const window of slice.windows) {
      // The range's visitors are the union of the buckets' at the end: one merge per point, not per window.
      summary.add(window, null);
      add(
        {
          timestamp: window.timestamp,
          viewerCount: window.viewerCount,
          weightedSum: window.avgViewers * window.sampleCount,
          peakViewers: window.peakViewers,
          minViewers: window.minViewers,
          sampleCount: window.sampleCount,
          visitors: windowSketch(window),
        },
        !(window.visitors instanceof VisitorSketch),
      );
    }
  }

  for (const bucket of buckets) summary.addVisitors(bucket.visitors);
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
      viewerMinutes: viewerMinutes(bucket.weightedSum, sampleIntervalMs),
      ...(bucket.visitors === null ? {} : { uniqueViewers: bucket.visitors.estimate() }),
    })),
    summary: summary.result(),
  };
}
