import { describe, expect, it } from 'vitest';
import { VisitorSketch } from '@viewer-analytics/shared';
import { mix32 } from '@viewer-analytics/testkit';
import { RangeSummary, viewerSeries, windowSketch, type SeriesWindow } from '../../src/analytics/viewer-series.js';

const MINUTE = 60_000;

function window(minute: number, fields: Partial<SeriesWindow> = {}): SeriesWindow {
  return { timestamp: new Date(minute * MINUTE), viewerCount: 5, avgViewers: 5, peakViewers: 5, minViewers: 5, sampleCount: 12, ...fields };
}

async function* stream(windows: readonly SeriesWindow[]): AsyncIterable<SeriesWindow> {
  yield* windows;
}

/** Samples every 5 s, 12 to the window: a sample of n viewers is n × 5/60 viewer-minutes. */
const series = (windows: readonly SeriesWindow[], maxPoints: number) => viewerSeries(stream(windows), { windowMs: MINUTE, maxPoints, sampleIntervalMs: 5_000 });

/** A window's sketch of these visitor hashes, as stored. */
const visitors = (...hashes: number[]): Uint8Array => {
  const sketch = new VisitorSketch();
  for (const hash of hashes) sketch.add(hash);
  return sketch.toBytes();
};

describe('the viewer series', () => {
  it('passes windows through one point each while they fit', async () => {
    const windows = [window(10, { avgViewers: 4.25 }), window(11), window(13)];
    expect(await series(windows, 3)).toEqual({
      bucketMs: MINUTE,
      downsampled: false,
      points: windows.map((w) => ({ ...w, timestamp: w.timestamp.toISOString(), viewerMinutes: (w.avgViewers * 12 * 5) / 60 })),
      summary: expect.anything() as unknown,
    });
  });

  it('merges windows once they do not fit: peak max, minimum min, average by samples, last viewerCount, samples summed', async () => {
    const windows = [
      window(0, { viewerCount: 1, avgViewers: 2, peakViewers: 9, minViewers: 1, sampleCount: 12 }),
      window(1, { viewerCount: 7, avgViewers: 5, peakViewers: 8, minViewers: 3, sampleCount: 6 }),
      window(2, { viewerCount: 4, avgViewers: 4, peakViewers: 4, minViewers: 4, sampleCount: 12 }),
    ];
    const { bucketMs, downsampled, points } = await series(windows, 2);
    expect({ bucketMs, downsampled }).toEqual({ bucketMs: 2 * MINUTE, downsampled: true });
    expect(points).toEqual([
      { timestamp: new Date(0).toISOString(), viewerCount: 7, avgViewers: 3, peakViewers: 9, minViewers: 1, sampleCount: 18, viewerMinutes: 4.5 },
      { timestamp: new Date(2 * MINUTE).toISOString(), viewerCount: 4, avgViewers: 4, peakViewers: 4, minViewers: 4, sampleCount: 12, viewerMinutes: 4 },
    ]);
  });

  it('never answers more than maxPoints, whatever the span and its alignment, and at least half as many when it merges', async () => {
    for (const [count, maxPoints, offset] of [[1_000, 7, 0], [1_000, 7, 3], [10_007, 1_500, 59], [45, 44, 1], [125_000, 1_500, 17]] as const) {
      const windows = Array.from({ length: count }, (_, i) => window(offset + i));
      const { points, bucketMs, downsampled } = await series(windows, maxPoints);
      expect(points.length).toBeLessThanOrEqual(maxPoints);
      expect(points.length).toBeGreaterThanOrEqual(Math.min(count, Math.floor(maxPoints / 2)));
      expect(points.reduce((sum, point) => sum + point.sampleCount, 0)).toBe(12 * count);
      expect(downsampled).toBe(count > maxPoints);
      expect(Math.log2(bucketMs / MINUTE) % 1).toBe(0); // the window times a power of two
    }
  });

  it('sums a scripted sequence into the viewer-minutes it implies, and summarises the whole range however it is merged', async () => {
    // Minute 0: 10 viewers for a minute. Minute 1: 20 viewers for 30 s, then 0 (a partial window of 6 samples
    // holding 20 then a window's rest missing). Minute 3: 6 samples of 4, 6 of 8 (avg 6), the peak 8 first here.
    const windows = [
      window(0, { viewerCount: 10, avgViewers: 10, peakViewers: 10, minViewers: 10, sampleCount: 12 }),
      window(1, { viewerCount: 20, avgViewers: 20, peakViewers: 20, minViewers: 20, sampleCount: 6 }),
      window(3, { viewerCount: 8, avgViewers: 6, peakViewers: 20, minViewers: 4, sampleCount: 12 }),
    ];
    // 10 viewers × 1 min + 20 × 0.5 min + 6 × 1 min = 26 viewer-minutes, whether merged into points or not.
    for (const maxPoints of [3, 1]) {
      const { points, summary } = await series(windows, maxPoints);
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

  it('summarises no windows as zeros and nulls', async () => {
    expect((await series([], 10)).summary).toEqual({
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

  it("counts a range's and a point's unique viewers from their windows' merged sketches, not by adding windows up", async () => {
    const windows = [
      window(0, { sampleCount: 12, avgViewers: 3, visitors: visitors(1, 2, 3) }),
      window(1, { sampleCount: 12, avgViewers: 3, visitors: visitors(2, 3, 4) }),
      window(2, { sampleCount: 12, avgViewers: 1 }), // stored before sketches: no uniques of its own
      window(3, { sampleCount: 12, avgViewers: 2, visitors: visitors(9, 1) }),
    ];
    const exact = await series(windows, 4);
    expect(exact.points.map((point) => point.uniqueViewers)).toEqual([3, 3, undefined, 2]);
    expect(exact.points[2]).not.toHaveProperty('uniqueViewers');
    expect(exact.summary.uniqueViewers).toBe(5); // {1, 2, 3, 4, 9}
    expect(exact.summary.avgWatchMinutes).toBe(Math.round((9 / 5) * 10_000) / 10_000); // 9 viewer-minutes over 5 people

    const merged = await series(windows, 2);
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

  it('never merges into the sketches of windows kept decoded in memory, so every read of them gives the same', async () => {
    const sketches = Array.from({ length: 12 }, (_, i) => VisitorSketch.fromBytes(visitors(i, i + 1, i + 2)));
    const windows = sketches.map((sketch, i) => window(i, { visitors: sketch }));
    const first = await series(windows, 3);
    expect(first.points.map((point) => point.uniqueViewers)).toEqual([6, 6, 6]); // 0-5, 4-9, 8-13
    expect(first.summary.uniqueViewers).toBe(14);
    expect(sketches.map((sketch) => sketch.estimate())).toEqual(Array.from({ length: 12 }, () => 3));
    expect(await series(windows, 3)).toEqual(first);
  });

  it('estimates uniques of large merged sets within the published error', async () => {
    // 40 windows of 2,000 visitors each, half of them shared with the window before: 41,000 distinct.
    const windows = Array.from({ length: 40 }, (_, w) => {
      const sketch = new VisitorSketch();
      for (let i = 0; i < 2_000; i++) sketch.add(mix32(w * 1_000 + i + 1));
      return window(w, { visitors: sketch.toBytes() });
    });
    const { summary } = await series(windows, 10);
    const expected = 39 * 1_000 + 2_000;
    // Four standard errors: a failure by chance is rarer than 1 in 15,000 (and the hashes are fixed, so it is reproducible).
    expect(Math.abs((summary.uniqueViewers ?? 0) - expected) / expected).toBeLessThan(4 * VisitorSketch.RELATIVE_STANDARD_ERROR);
  });
});
