import { describe, expect, it } from 'vitest';
import { VisitorSketch } from '@viewer-analytics/shared';
import { mix32 } from '@viewer-analytics/testkit';
import { HourFigures } from '../../src/analytics/hour-figures.js';
import { RangeSummary, windowSketch, type SeriesWindow } from '../../src/analytics/range-summary.js';
import { bucketLadder, seriesBucket, seriesNeedsWindows, viewerSeries } from '../../src/analytics/viewer-series.js';

const MINUTE = 60_000;

function window(minute: number, fields: Partial<SeriesWindow> = {}): SeriesWindow {
  return { timestamp: new Date(minute * MINUTE), viewerCount: 5, avgViewers: 5, peakViewers: 5, minViewers: 5, sampleCount: 12, ...fields };
}

/** Samples every 5 s, 12 to the window: a sample of n viewers is n × 5/60 viewer-minutes. */
const OPTIONS = { windowMs: MINUTE, sampleIntervalMs: 5_000 };
const series = (windows: readonly SeriesWindow[], maxPoints: number) => viewerSeries([{ hour: 0, windows }], { ...OPTIONS, maxPoints });

/** A window's sketch of these visitor hashes, as stored. */
const visitors = (...hashes: number[]): Uint8Array => {
  const sketch = new VisitorSketch();
  for (const hash of hashes) sketch.add(hash);
  return sketch.toBytes();
};

describe('the viewer series', () => {
  it('passes windows through one point each while they fit', () => {
    const windows = [window(10, { avgViewers: 4.25 }), window(11), window(13)];
    expect(series(windows, 3)).toEqual({
      bucketMs: MINUTE,
      downsampled: false,
      points: windows.map((w) => ({ ...w, timestamp: w.timestamp.toISOString(), viewerMinutes: (w.avgViewers * 12 * 5) / 60 })),
      summary: expect.anything() as unknown,
    });
  });

  it('merges windows once they do not fit: peak max, minimum min, average by samples, last viewerCount, samples summed', () => {
    const windows = [
      window(0, { viewerCount: 1, avgViewers: 2, peakViewers: 9, minViewers: 1, sampleCount: 12 }),
      window(1, { viewerCount: 7, avgViewers: 5, peakViewers: 8, minViewers: 3, sampleCount: 6 }),
      window(2, { viewerCount: 4, avgViewers: 4, peakViewers: 4, minViewers: 4, sampleCount: 12 }),
    ];
    const { bucketMs, downsampled, points } = series(windows, 2);
    expect({ bucketMs, downsampled }).toEqual({ bucketMs: 2 * MINUTE, downsampled: true });
    expect(points).toEqual([
      { timestamp: new Date(0).toISOString(), viewerCount: 7, avgViewers: 3, peakViewers: 9, minViewers: 1, sampleCount: 18, viewerMinutes: 4.5 },
      { timestamp: new Date(2 * MINUTE).toISOString(), viewerCount: 4, avgViewers: 4, peakViewers: 4, minViewers: 4, sampleCount: 12, viewerMinutes: 4 },
    ]);
  });

  it('never answers more than maxPoints, whatever the span and its alignment, and at least half as many when it merges', () => {
    for (const [count, maxPoints, offset] of [[1_000, 7, 0], [1_000, 7, 3], [10_007, 1_500, 59], [45, 44, 1], [125_000, 1_500, 17]] as const) {
      const windows = Array.from({ length: count }, (_, i) => window(offset + i));
      const { points, bucketMs, downsampled } = series(windows, maxPoints);
      expect(points.length).toBeLessThanOrEqual(maxPoints);
      // The ladder's steps grow at most 2.5 times (2 to 5 minutes).
      expect(points.length).toBeGreaterThanOrEqual(Math.min(count, Math.floor(maxPoints / 2.5)));
      expect(points.reduce((sum, point) => sum + point.sampleCount, 0)).toBe(12 * count);
      expect(downsampled).toBe(count > maxPoints);
      expect(ladder(bucketMs)).toContain(bucketMs);
    }
  });

  it('sums a scripted sequence into the viewer-minutes it implies, and summarises the whole range however it is merged', () => {
    // Minute 0: 10 viewers for a minute. Minute 1: 20 viewers for 30 s, then 0 (a partial window of 6 samples
    // holding 20 then a window's rest missing). Minute 3: 6 samples of 4, 6 of 8 (avg 6), the peak 8 first here.
    const windows = [
      window(0, { viewerCount: 10, avgViewers: 10, peakViewers: 10, minViewers: 10, sampleCount: 12 }),
      window(1, { viewerCount: 20, avgViewers: 20, peakViewers: 20, minViewers: 20, sampleCount: 6 }),
      window(3, { viewerCount: 8, avgViewers: 6, peakViewers: 20, minViewers: 4, sampleCount: 12 }),
    ];
    // 10 viewers × 1 min + 20 × 0.5 min + 6 × 1 min = 26 viewer-minutes, whether merged into points or not.
    for (const maxPoints of [3, 1]) {
      const { points, summary } = series(windows, maxPoints);
      expect(points.reduce((sum, point) => sum + point.viewerMinutes, 0)).toBeCloseTo(26, 9);
      expect(summary).toEqual({
        snapshots: 3,
        peakViewers: 20,
        peakAt: new Date(MINUTE).toISOString(),
        avgViewers: Math.round((26 / 2.5) * 10_000) / 10_000,
        minViewers: 4,
        durationMs: 4 * MINUTE,
        viewerMinutes: 26,
        uniqueViewers: null,
        avgWatchMinutes: null,
      });
    }
  });

  it('summarises no windows as zeros and nulls', () => {
    expect((series([], 10)).summary).toEqual({
      snapshots: 0,
      peakViewers: 0,
      peakAt: null,
      avgViewers: 0,
      minViewers: 0,
      durationMs: 0,
      viewerMinutes: 0,
      uniqueViewers: null,
      avgWatchMinutes: null,
    });
  });

  it("counts a range's and a point's unique viewers from their windows' merged sketches, not by adding windows up", () => {
    const windows = [
      window(0, { sampleCount: 12, avgViewers: 3, visitors: visitors(1, 2, 3) }),
      window(1, { sampleCount: 12, avgViewers: 3, visitors: visitors(2, 3, 4) }),
      window(2, { sampleCount: 12, avgViewers: 1 }), // stored before sketches: no uniques of its own
      window(3, { sampleCount: 12, avgViewers: 2, visitors: visitors(9, 1) }),
    ];
    const exact = series(windows, 4);
    expect(exact.points.map((point) => point.uniqueViewers)).toEqual([3, 3, undefined, 2]);
    expect(exact.points[2]).not.toHaveProperty('uniqueViewers');
    expect(exact.summary.uniqueViewers).toBe(5); // {1, 2, 3, 4, 9}
    expect(exact.summary.avgWatchMinutes).toBe(Math.round((9 / 5) * 10_000) / 10_000); // 9 viewer-minutes over 5 people

    const merged = series(windows, 2);
    expect(merged.points.map((point) => point.uniqueViewers)).toEqual([4, 2]);
    expect(merged.summary.uniqueViewers).toBe(5);
  });

  it('gives the same summary from the summaries of consecutive stretches as from their windows one by one', () => {
    // Peaks repeat (the first window holding one keeps it), averages have four decimals, some windows lack sketches.
    const windows = Array.from({ length: 180 }, (_, i) =>
      window(i, {
        avgViewers: ((i * 37) % 101) / 7,
        peakViewers: 20 + ((i * 13) % 9),
        minViewers: (i * 7) % 5,
        sampleCount: 1 + (i % 12),
        ...(i % 5 === 0 ? {} : { visitors: visitors(...Array.from({ length: 30 }, (_, v) => mix32(i * 3 + v))) }),
      }),
    );
    const options = { windowMs: MINUTE, sampleIntervalMs: 5_000 };
    const whole = new RangeSummary(options);
    for (const one of windows) whole.add(one, windowSketch(one));
    for (const cuts of [[60, 120], [1, 179], [90]]) {
      const combined = new RangeSummary(options);
      combined.addLater(new RangeSummary(options)); // an empty stretch changes nothing
      let from = 0;
      for (const to of [...cuts, windows.length]) {
        const stretch = new RangeSummary(options);
        for (const one of windows.slice(from, to)) stretch.add(one, windowSketch(one));
        combined.addLater(stretch);
        from = to;
      }
      expect(combined.result()).toEqual(whole.result());
      expect(combined.lastAt).toEqual(whole.lastAt);
    }
    expect(whole.result().peakAt).toBe(new Date(2 * MINUTE).toISOString()); // peaks of 28 at minutes 2, 11, 20, …
  });

  it('never merges into the sketches of windows kept decoded in memory, so every read of them gives the same', () => {
    const sketches = Array.from({ length: 12 }, (_, i) => VisitorSketch.fromBytes(visitors(i, i + 1, i + 2)));
    const windows = sketches.map((sketch, i) => window(i, { visitors: sketch }));
    const first = series(windows, 3);
    expect(first.points.map((point) => point.uniqueViewers)).toEqual([7, 7, 4]); // 5-minute buckets: 0-6, 5-11, 10-13
    expect(first.summary.uniqueViewers).toBe(14);
    expect(sketches.map((sketch) => sketch.estimate())).toEqual(Array.from({ length: 12 }, () => 3));
    expect(series(windows, 3)).toEqual(first);
  });

  it('estimates uniques of large merged sets within the published error', () => {
    // 40 windows of 2,000 visitors each, half of them shared with the window before: 41,000 distinct.
    const windows = Array.from({ length: 40 }, (_, w) => {
      const sketch = new VisitorSketch();
      for (let i = 0; i < 2_000; i++) sketch.add(mix32(w * 1_000 + i + 1));
      return window(w, { visitors: sketch.toBytes() });
    });
    const { summary } = series(windows, 10);
    const expected = 39 * 1_000 + 2_000;
    // Four standard errors: a failure by chance is rarer than 1 in 15,000 (and the hashes are fixed, so it is reproducible).
    expect(Math.abs((summary.uniqueViewers ?? 0) - expected) / expected).toBeLessThan(4 * VisitorSketch.RELATIVE_STANDARD_ERROR);
  });
});

/** The steps of the ladder up to `until`. */
function ladder(until: number, windowMs = MINUTE): number[] {
  const steps: number[] = [];
  for (const step of bucketLadder(windowMs)) {
    if (step > until) break;
    steps.push(step);
  }
  return steps;
}

describe('the bucket ladder', () => {
  it('goes from the window through its 2, 5, 10… multiples below a quarter hour, then doubles quarter hours', () => {
    expect(ladder(240 * MINUTE).map((ms) => ms / MINUTE)).toEqual([1, 2, 5, 10, 15, 30, 60, 120, 240]);
    expect(ladder(15 * MINUTE, 5_000).map((ms) => ms / 1_000)).toEqual([5, 10, 25, 50, 100, 250, 500, 900]);
    expect(ladder(60 * MINUTE, 20 * MINUTE).map((ms) => ms / MINUTE)).toEqual([20, 30, 60]);
  });
});

describe('the series of settled hours given by their figures', () => {
  const HOUR = 60 * MINUTE;
  const start = Date.UTC(2026, 10, 2);
  // Three days of hours: every fifth missing, every seventh only half there, a window missing here
  // and there; viewers in quarters (exact in binary, so sums in any order agree), sketches that overlap.
  const hours = Array.from({ length: 72 }, (_, h) => start + h * HOUR)
    .filter((_, h) => h % 5 !== 3)
    .map((hour, h) => {
      const windows = Array.from({ length: h % 7 === 2 ? 30 : 60 }, (_, m) => m)
        .filter((m) => (h * 60 + m) % 17 !== 0)
        .map((m) => {
          const i = h * 60 + m;
          return {
            timestamp: new Date(hour + m * MINUTE),
            viewerCount: (i * 7) % 40,
            avgViewers: ((i * 13) % 160) / 4,
            peakViewers: 40 + ((i * 11) % 23),
            minViewers: (i * 5) % 9,
            sampleCount: 1 + (i % 12),
            ...(i % 11 === 0 ? {} : { visitors: visitors(...Array.from({ length: 20 }, (_, v) => mix32(i + v))) }),
          };
        });
      return { hour, windows };
    });
  const byWindows = hours.map(({ hour, windows }) => ({ hour, windows }));
  const byFigures = hours.map(({ hour, windows }) => ({ hour, figures: HourFigures.of(hour, windows, OPTIONS) }));

  it('gives the points and summary its windows give, whenever the buckets are whole quarter hours', () => {
    for (const maxPoints of [300, 100, 20, 3]) {
      const options = { ...OPTIONS, maxPoints };
      const expected = viewerSeries(byWindows, options);
      expect(expected.bucketMs % (15 * MINUTE)).toBe(0);
      expect(viewerSeries(byFigures, options)).toEqual(expected);
      // A range's first and last hours come as windows (cut by the range, or not settled yet).
      expect(viewerSeries([...byWindows.slice(0, 1), ...byFigures.slice(1, -1), ...byWindows.slice(-1)], options)).toEqual(expected);
    }
  });

  it('asks for the windows when the buckets would be shorter than a quarter hour, rather than guess them', () => {
    const options = { ...OPTIONS, maxPoints: 1_500 };
    expect(viewerSeries(byWindows, options).bucketMs).toBe(5 * MINUTE);
    // The figures' window starts give the bucket the windows give.
    expect(seriesBucket(byFigures, options)).toBe(5 * MINUTE);
    expect(seriesNeedsWindows(byFigures, seriesBucket(byFigures, options))).toBe(true);
    expect(seriesNeedsWindows(byWindows, seriesBucket(byWindows, options))).toBe(false);
    expect(() => viewerSeries(byFigures, options)).toThrow(/not whole quarter hours/);
  });
});
