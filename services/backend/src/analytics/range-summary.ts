import { VisitorSketch, type ViewerSummary } from '@viewer-analytics/shared';

/** What a stored window contributes to the series. */
export interface SeriesWindow {
  readonly timestamp: Date;
  readonly viewerCount: number;
  readonly avgViewers: number;
  readonly peakViewers: number;
  readonly minViewers: number;
  readonly sampleCount: number;
  /** The window's distinct visitors (older snapshots have none). */
  readonly uniqueViewers?: number;
  /**
   * The window's VisitorSketch, what ranges merge into their uniques: serialized as stored, or
   * decoded where windows are kept in memory (then shared: never merged into).
   */
  readonly visitors?: { value(): Uint8Array } | Uint8Array | VisitorSketch;
}

export interface SeriesOptions {
  /** The snapshot window: the finest resolution of the series. */
  readonly windowMs: number;
  readonly maxPoints: number;
  /** One sample counts its viewers for this long: what turns samples into viewer-minutes. */
  readonly sampleIntervalMs: number;
}

/** Every window of `windows`, in order. */
export async function collect(windows: AsyncIterable<SeriesWindow>): Promise<SeriesWindow[]> {
  const all: SeriesWindow[] = [];
  for await (const window of windows) all.push(window);
  return all;
}

/** The window's visitor sketch, if it has one: read-only, as it may be the window's own. */
export function windowSketch(window: Pick<SeriesWindow, 'visitors'>): VisitorSketch | null {
  const { visitors } = window;
  if (visitors === undefined) return null;
  if (visitors instanceof VisitorSketch) return visitors;
  return VisitorSketch.fromBytes(visitors instanceof Uint8Array ? visitors : visitors.value());
}

/** `into` ∪ `from`, either of them possibly absent. */
export function union(into: VisitorSketch | null, from: VisitorSketch | null): VisitorSketch | null {
  if (from === null) return into;
  if (into === null) {
    const copy = new VisitorSketch();
    copy.merge(from);
    return copy;
  }
  into.merge(from);
  return into;
}

/** Averages travel with four decimals, like the snapshots the socket server sends. */
export const round4 = (value: number): number => Math.round(value * 10_000) / 10_000;

/** Watch time of `samples` samples: each sample counts its viewers for one sample interval. */
export const viewerMinutes = (weightedSum: number, sampleIntervalMs: number): number => round4((weightedSum * sampleIntervalMs) / 60_000);

/** A RangeSummary's running figures as plain values (times in ms since the epoch, the sketch as its bytes). */
export interface RangeState {
  readonly count: number;
  readonly peakViewers: number;
  readonly peakAt: number | null;
  readonly minViewers: number;
  readonly weightedSum: number;
  readonly samples: number;
  readonly first: number | null;
  readonly last: number | null;
  readonly visitors: Uint8Array | null;
}

/** Running figures of a whole range, window by window (oldest first). */
export class RangeSummary {
  private count = 0;
  private peakViewers = 0;
  private peakAt: Date | null = null;
  private minViewers = Infinity;
  private weightedSum = 0;
  private samples = 0;
  private first: Date | null = null;
  private last: Date | null = null;
  private visitors: VisitorSketch | null = null;

  constructor(private readonly options: Pick<SeriesOptions, 'windowMs' | 'sampleIntervalMs'>) {}

  /** A summary as stored: see state(). */
  static fromState(options: Pick<SeriesOptions, 'windowMs' | 'sampleIntervalMs'>, state: RangeState): RangeSummary {
    const summary = new RangeSummary(options);
    summary.count = state.count;
    summary.peakViewers = state.peakViewers;
    summary.peakAt = state.peakAt === null ? null : new Date(state.peakAt);
    summary.minViewers = state.count === 0 ? Infinity : state.minViewers;
    summary.weightedSum = state.weightedSum;
    summary.samples = state.samples;
    summary.first = state.first === null ? null : new Date(state.first);
    summary.last = state.last === null ? null : new Date(state.last);
    summary.visitors = state.visitors === null ? null : VisitorSketch.fromBytes(state.visitors);
    return summary;
  }

  /** The running figures as plain values, for storing; fromState() gives the same summary back. */
  state(): RangeState {
    return {
      count: this.count,
      peakViewers: this.peakViewers,
      peakAt: this.peakAt?.getTime() ?? null,
      minViewers: this.count === 0 ? 0 : this.minViewers,
      weightedSum: this.weightedSum,
      samples: this.samples,
      first: this.first?.getTime() ?? null,
      last: this.last?.getTime() ?? null,
      visitors: this.visitors?.toBytes() ?? null,
    };
  }

  /** Windows added so far. */
  get snapshots(): number {
    return this.count;
  }

  /** Start of the newest window added. */
  get lastAt(): Date | null {
    return this.last;
  }

  add(window: SeriesWindow, sketch: VisitorSketch | null): void {
    this.count += 1;
    // Strictly larger: the first window holding the peak keeps it.
    if (this.peakAt === null || window.peakViewers > this.peakViewers) {
      this.peakViewers = window.peakViewers;
      this.peakAt = window.timestamp;
    }
    this.minViewers = Math.min(this.minViewers, window.minViewers);
    this.weightedSum += window.avgViewers * window.sampleCount;
    this.samples += window.sampleCount;
    this.first ??= window.timestamp;
    this.last = window.timestamp;
    this.visitors = union(this.visitors, sketch);
  }

  /** Adds visitors whose windows were added without their sketch (the union is the same in any order). */
  addVisitors(sketch: VisitorSketch | null): void {
    this.visitors = union(this.visitors, sketch);
  }

  /** Adds the figures of windows that all start after this summary's: the same result as adding them one by one. */
  addLater(later: RangeSummary): void {
    if (later.count === 0) return;
    this.count += later.count;
    if (this.peakAt === null || later.peakViewers > this.peakViewers) {
      this.peakViewers = later.peakViewers;
      this.peakAt = later.peakAt;
    }
    this.minViewers = Math.min(this.minViewers, later.minViewers);
    this.weightedSum += later.weightedSum;
    this.samples += later.samples;
    this.first ??= later.first;
    this.last = later.last;
    this.visitors = union(this.visitors, later.visitors);
  }

  result(): ViewerSummary {
    const minutes = viewerMinutes(this.weightedSum, this.options.sampleIntervalMs);
    const uniqueViewers = this.visitors?.estimate() ?? null;
    return {
      snapshots: this.count,
      peakViewers: this.peakViewers,
      peakAt: this.peakAt?.toISOString() ?? null,
      avgViewers: this.samples === 0 ? 0 : round4(this.weightedSum / this.samples),
      minViewers: this.count === 0 ? 0 : this.minViewers,
      durationMs: this.first === null || this.last === null ? 0 : this.last.getTime() + this.options.windowMs - this.first.getTime(),
      viewerMinutes: minutes,
      uniqueViewers,
      avgWatchMinutes: uniqueViewers === null || uniqueViewers === 0 ? null : round4(minutes / uniqueViewers),
    };
  }
}
