import type { VisitorSketch } from '@viewer-analytics/shared';
import { RangeSummary, union, windowSketch, type SeriesOptions, type SeriesWindow } from './range-summary.js';

export const QUARTER_MS = 15 * 60_000;
export const HOUR_QUARTERS = 4;
export const HOUR_MS = HOUR_QUARTERS * QUARTER_MS;
/**
 * Per quarter hour, at these offsets: the sample-weighted viewer sum, the samples, the windows, the
 * peak, the minimum, the last window's viewerCount.
 */
export const QUARTER_FIGURES = 6;
export const Q_WEIGHTED = 0;
export const Q_SAMPLES = 1;
export const Q_WINDOWS = 2;
export const Q_PEAK = 3;
export const Q_MIN = 4;
export const Q_LAST_COUNT = 5;

/** The start of the first window the hour starting at `hour` can hold: windows start at multiples of their length since the epoch. */
export const firstStartIn = (hour: number, windowMs: number): number => Math.ceil(hour / windowMs) * windowMs;

/** Bytes of the bitmap of window starts an hour can hold. */
export const startsBytes = (windowMs: number): number => Math.ceil(Math.ceil(HOUR_MS / windowMs) / 8) + 1;

/**
 * What the overview, the heatmap and the long charts need of one settled auction-hour, taken once
 * from its windows: the hour's summary (peak, minimum, sums, merged visitor sketch); per quarter
 * hour, its sums, peak, minimum and merged sketch (every time zone's offset is whole quarter hours,
 * and a chart's buckets from 15 minutes up are whole quarters); and which windows it holds, which
 * is what decides a chart's bucket length.
 */
export class HourFigures {
  constructor(
    readonly summary: RangeSummary,
    /** HOUR_QUARTERS × QUARTER_FIGURES numbers, quarter after quarter. */
    readonly quarters: Float64Array,
    /** Per quarter, the union of its windows' sketches (null when none had one): shared, never merged into. */
    readonly visitors: readonly (VisitorSketch | null)[],
    /** Bit i (of byte i >> 3) set: a window starts at firstStartIn(hour) + i × windowMs. */
    readonly starts: Uint8Array,
  ) {}

  /** The figures of the windows of the hour starting at `hour` (oldest first). */
  static of(hour: number, windows: readonly SeriesWindow[], options: Pick<SeriesOptions, 'windowMs' | 'sampleIntervalMs'>): HourFigures {
    const summary = new RangeSummary(options);
    const quarters = new Float64Array(HOUR_QUARTERS * QUARTER_FIGURES);
    const visitors: (VisitorSketch | null)[] = Array.from({ length: HOUR_QUARTERS }, () => null);
    const starts = new Uint8Array(startsBytes(options.windowMs));
    const first = firstStartIn(hour, options.windowMs);
    for (const window of windows) {
      const start = window.timestamp.getTime();
      const sketch = windowSketch(window);
      summary.add(window, sketch);
      const quarter = Math.min(HOUR_QUARTERS - 1, Math.max(0, Math.floor((start - hour) / QUARTER_MS)));
      const at = quarter * QUARTER_FIGURES;
      const firstOfQuarter = quarters[at + Q_WINDOWS] === 0;
      quarters[at + Q_WEIGHTED] = (quarters[at + Q_WEIGHTED] ?? 0) + window.avgViewers * window.sampleCount;
      quarters[at + Q_SAMPLES] = (quarters[at + Q_SAMPLES] ?? 0) + window.sampleCount;
      quarters[at + Q_WINDOWS] = (quarters[at + Q_WINDOWS] ?? 0) + 1;
      quarters[at + Q_PEAK] = firstOfQuarter ? window.peakViewers : Math.max(quarters[at + Q_PEAK] ?? 0, window.peakViewers);
      quarters[at + Q_MIN] = firstOfQuarter ? window.minViewers : Math.min(quarters[at + Q_MIN] ?? 0, window.minViewers);
      quarters[at + Q_LAST_COUNT] = window.viewerCount;
      // The union is the quarter's own from its first window on: never the window's shared sketch.
      visitors[quarter] = union(visitors[quarter] ?? null, sketch);
      const slot = Math.round((start - first) / options.windowMs);
      if (slot >= 0 && slot >> 3 < starts.length) starts[slot >> 3] = (starts[slot >> 3] ?? 0) | (1 << (slot & 7));
    }
    return new HourFigures(summary, quarters, visitors, starts);
  }

  /** Calls `each` with the start of every window the hour holds, oldest first. */
  forEachStart(hour: number, windowMs: number, each: (start: number) => void): void {
    const first = firstStartIn(hour, windowMs);
    for (let byte = 0; byte < this.starts.length; byte++) {
      const bits = this.starts[byte] ?? 0;
      if (bits === 0) continue;
      for (let bit = 0; bit < 8; bit++) if ((bits & (1 << bit)) !== 0) each(first + (byte * 8 + bit) * windowMs);
    }
  }
}

/** Start of quarter `quarter` (0–3) of the hour starting at `hour`. */
export const quarterStart = (hour: number, quarter: number): number => hour + quarter * QUARTER_MS;

/** An hour of an auction within a read's range: its figures when settled and wholly within the range, else its windows there. */
export type HourSlice = { readonly hour: number; readonly figures: HourFigures } | { readonly hour: number; readonly windows: readonly SeriesWindow[] };

/** The summary of an auction's slices (oldest first). */
export function summaryOf(slices: readonly HourSlice[], options: Pick<SeriesOptions, 'windowMs' | 'sampleIntervalMs'>): RangeSummary {
  const summary = new RangeSummary(options);
  for (const slice of slices) {
    if ('figures' in slice) summary.addLater(slice.figures.summary);
    else for (const window of slice.windows) summary.add(window, windowSketch(window));
  }
  return summary;
}
