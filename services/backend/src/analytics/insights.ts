import { HEATMAP_CELLS, type AuctionOverview, type HeatmapCell } from '@viewer-analytics/shared';
import { HOUR_QUARTERS, QUARTER_FIGURES, QUARTER_MS, Q_SAMPLES, Q_WEIGHTED, Q_WINDOWS, quarterStart, type HourSlice } from './hour-figures.js';
import { round4, type RangeSummary, type SeriesWindow } from './range-summary.js';

/** What the overview shows of an auction besides its figures. */
export interface OverviewAuction {
  readonly id: string;
  readonly title: string;
  readonly ownerId: string;
  readonly enableViewerAnalytics: boolean;
  readonly createdAt: Date;
}

/** One row of the overview: the auction and its figures over the range (none when it has no window there). */
export function overviewRow(auction: OverviewAuction, summary: RangeSummary): AuctionOverview {
  const { snapshots, peakViewers, peakAt, avgViewers, viewerMinutes, uniqueViewers } = summary.result();
  return {
    id: auction.id,
    title: auction.title,
    ownerId: auction.ownerId,
    enableViewerAnalytics: auction.enableViewerAnalytics,
    createdAt: auction.createdAt.toISOString(),
    snapshots,
    peakViewers,
    peakAt,
    avgViewers,
    viewerMinutes,
    uniqueViewers,
    lastSnapshotAt: summary.lastAt?.toISOString() ?? null,
  };
}

/** Whether the runtime knows this IANA time zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const WEEKDAYS: Readonly<Record<string, number>> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/**
 * The "when do people watch" grid: each window counts in the local weekday and hour its start
 * falls in, weighted by its samples. The zone's offset is looked up once per quarter hour the
 * windows touch rather than once per window: every zone's offset and every change of it (DST)
 * are whole quarter hours, so all the windows starting within a quarter share a local hour.
 */
export class HeatmapGrid {
  private readonly weighted = new Float64Array(HEATMAP_CELLS);
  private readonly samples = new Float64Array(HEATMAP_CELLS);
  private readonly windows = new Uint32Array(HEATMAP_CELLS);
  private readonly cellOfQuarter = new Map<number, number>();
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: 'numeric', hourCycle: 'h23' });
  }

  private cellOf(start: number): number {
    const quarter = Math.floor(start / QUARTER_MS);
    let cell = this.cellOfQuarter.get(quarter);
    if (cell === undefined) {
      let day = 0;
      let hour = 0;
      for (const part of this.format.formatToParts(new Date(quarter * QUARTER_MS))) {
        if (part.type === 'weekday') day = WEEKDAYS[part.value] ?? 0;
        else if (part.type === 'hour') hour = Number(part.value) % 24;
      }
      cell = day * 24 + hour;
      this.cellOfQuarter.set(quarter, cell);
    }
    return cell;
  }

  add(window: SeriesWindow): void {
    this.addAt(window.timestamp.getTime(), window.avgViewers * window.sampleCount, window.sampleCount, 1);
  }

  /** Adds an auction's slices: an hour's figures by their quarter-hour sums, other hours window by window. */
  addSlices(slices: readonly HourSlice[]): void {
    for (const slice of slices) {
      if ('figures' in slice) this.addQuarters(slice.hour, slice.figures.quarters);
      else for (const window of slice.windows) this.add(window);
    }
  }

  private addQuarters(hour: number, quarters: Float64Array): void {
    for (let quarter = 0; quarter < HOUR_QUARTERS; quarter++) {
      const at = quarter * QUARTER_FIGURES;
      const windows = quarters[at + Q_WINDOWS] ?? 0;
      if (windows > 0) this.addAt(quarterStart(hour, quarter), quarters[at + Q_WEIGHTED] ?? 0, quarters[at + Q_SAMPLES] ?? 0, windows);
    }
  }

  private addAt(start: number, weighted: number, samples: number, windows: number): void {
    const cell = this.cellOf(start);
    this.weighted[cell] = (this.weighted[cell] ?? 0) + weighted;
    this.samples[cell] = (this.samples[cell] ?? 0) + samples;
    this.windows[cell] = (this.windows[cell] ?? 0) + windows;
  }

  cells(): HeatmapCell[] {
    return Array.from({ length: HEATMAP_CELLS }, (_, cell) => {
      const samples = this.samples[cell] ?? 0;
      return {
        dayOfWeek: Math.floor(cell / 24),
        hour: cell % 24,
        avgViewers: samples === 0 ? 0 : round4((this.weighted[cell] ?? 0) / samples),
        windows: this.windows[cell] ?? 0,
      };
    });
  }
}
