import { describe, expect, it } from 'vitest';
import { viewerSeries, type SeriesWindow } from '../../src/analytics/viewer-series.js';

const MINUTE = 60_000;

function window(minute: number, fields: Partial<SeriesWindow> = {}): SeriesWindow {
  return { timestamp: new Date(minute * MINUTE), viewerCount: 5, avgViewers: 5, peakViewers: 5, minViewers: 5, sampleCount: 12, ...fields };
}

async function* stream(windows: readonly SeriesWindow[]): AsyncIterable<SeriesWindow> {
  yield* windows;
}

const series = (windows: readonly SeriesWindow[], maxPoints: number) => viewerSeries(stream(windows), { windowMs: MINUTE, maxPoints });

describe('the viewer series', () => {
  it('passes windows through one point each while they fit', async () => {
    const windows = [window(10, { avgViewers: 4.25 }), window(11), window(13)];
    expect(await series(windows, 3)).toEqual({
      bucketMs: MINUTE,
      downsampled: false,
      points: windows.map((w) => ({ ...w, timestamp: w.timestamp.toISOString() })),
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
      { timestamp: new Date(0).toISOString(), viewerCount: 7, avgViewers: 3, peakViewers: 9, minViewers: 1, sampleCount: 18 },
      { timestamp: new Date(2 * MINUTE).toISOString(), viewerCount: 4, avgViewers: 4, peakViewers: 4, minViewers: 4, sampleCount: 12 },
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
});
