import { RangeSummary, windowSketch, type SeriesOptions, type SeriesWindow } from './viewer-series.js';

export const QUARTER_MS = 15 * 60_000;
/** Per quarter hour: the sample-weighted viewer sum, the samples, the windows. */
export const QUARTER_FIGURES = 3;
export const HOUR_QUARTERS = 4;

/**
 * What the overview and the heatmap need of one settled auction-hour, taken once from its windows:
 * the hour's summary (peak, minimum, sums, merged visitor sketch) and, per quarter hour, the sums
 * the heatmap places by local time (every time zone's offset is whole quarter hours).
 */
export class HourFigures {
  constructor(
    readonly summary: RangeSummary,
    /** HOUR_QUARTERS × QUARTER_FIGURES numbers, quarter after quarter. */
    readonly quarters: Float64Array,
  ) {}

  /** The figures of the windows of the hour starting at `hour` (oldest first). */
  static of(hour: number, windows: readonly SeriesWindow[], options: Pick<SeriesOptions, 'windowMs' | 'sampleIntervalMs'>): HourFigures {
    const summary = new RangeSummary(options);
    const quarters = new Float64Array(HOUR_QUARTERS * QUARTER_FIGURES);
    for (const window of windows) {
      summary.add(window, windowSketch(window));
      const quarter = Math.min(HOUR_QUARTERS - 1, Math.max(0, Math.floor((window.timestamp.getTime() - hour) / QUARTER_MS)));
      quarters[quarter * QUARTER_FIGURES] = (quarters[quarter * QUARTER_FIGURES] ?? 0) + window.avgViewers * window.sampleCount;
      quarters[quarter * QUARTER_FIGURES + 1] = (quarters[quarter * QUARTER_FIGURES + 1] ?? 0) + window.sampleCount;
      quarters[quarter * QUARTER_FIGURES + 2] = (quarters[quarter * QUARTER_FIGURES + 2] ?? 0) + 1;
    }
    return new HourFigures(summary, quarters);
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
