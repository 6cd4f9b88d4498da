import { describe, expect, it } from 'vitest';
import { HEATMAP_CELLS } from '@viewer-analytics/shared';
import { HeatmapGrid, isTimeZone } from '../../src/analytics/insights.js';
import type { SeriesWindow } from '../../src/analytics/range-summary.js';

const window = (iso: string, avgViewers: number, sampleCount = 12): SeriesWindow => ({
  timestamp: new Date(iso),
  viewerCount: avgViewers,
  avgViewers,
  peakViewers: avgViewers,
  minViewers: avgViewers,
  sampleCount,
});

/** The cell of a local weekday (0 = Monday) and hour. */
const cell = (cells: ReturnType<HeatmapGrid['cells']>, dayOfWeek: number, hour: number) => cells[dayOfWeek * 24 + hour];

describe('the heatmap grid', () => {
  it('has 168 cells, Monday 0h first, hour by hour', () => {
    const cells = new HeatmapGrid('UTC').cells();
    expect(cells).toHaveLength(HEATMAP_CELLS);
    expect(cells.slice(0, 2)).toEqual([
      { dayOfWeek: 0, hour: 0, avgViewers: 0, windows: 0 },
      { dayOfWeek: 0, hour: 1, avgViewers: 0, windows: 0 },
    ]);
    expect(cells.at(-1)).toEqual({ dayOfWeek: 6, hour: 23, avgViewers: 0, windows: 0 });
  });

  it('places windows in the local weekday and hour across a DST change, weighting by samples', () => {
    const grid = new HeatmapGrid('Europe/Berlin');
    // Sunday 2026-10-25: clocks go back at 03:00 CEST (01:00 UTC) to 02:00 CET.
    grid.add(window('2026-10-25T00:30:00Z', 10)); // 02:30 CEST, Sunday
    grid.add(window('2026-10-25T01:30:00Z', 20, 6)); // 02:30 CET, Sunday: the same local hour again
    grid.add(window('2026-10-25T02:00:00Z', 7)); // 03:00 CET
    grid.add(window('2026-10-24T22:00:00Z', 5)); // Sunday 00:00 CEST, though Saturday in UTC
    // Sunday 2026-03-29: clocks go forward at 02:00 CET (01:00 UTC) to 03:00 CEST.
    grid.add(window('2026-03-29T00:59:00Z', 3)); // 01:59 CET
    grid.add(window('2026-03-29T01:00:00Z', 4)); // 03:00 CEST
    const cells = grid.cells();
    expect(cell(cells, 6, 2)).toEqual({ dayOfWeek: 6, hour: 2, avgViewers: Math.round(((10 * 12 + 20 * 6) / 18) * 10_000) / 10_000, windows: 2 });
    expect(cell(cells, 6, 3)).toEqual({ dayOfWeek: 6, hour: 3, avgViewers: (7 * 12 + 4 * 12) / 24, windows: 2 });
    expect(cell(cells, 6, 0)).toMatchObject({ avgViewers: 5, windows: 1 });
    expect(cell(cells, 6, 1)).toMatchObject({ avgViewers: 3, windows: 1 });
    expect(cells.reduce((sum, { windows }) => sum + windows, 0)).toBe(6);
  });

  it('handles offsets of half and three quarter hours', () => {
    const india = new HeatmapGrid('Asia/Kolkata'); // UTC+05:30
    india.add(window('2026-06-01T18:29:00Z', 1)); // Monday 23:59
    india.add(window('2026-06-01T18:30:00Z', 2)); // Tuesday 00:00
    expect(cell(india.cells(), 0, 23)).toMatchObject({ avgViewers: 1, windows: 1 });
    expect(cell(india.cells(), 1, 0)).toMatchObject({ avgViewers: 2, windows: 1 });
    const nepal = new HeatmapGrid('Asia/Kathmandu'); // UTC+05:45
    nepal.add(window('2026-06-01T18:14:00Z', 1)); // Monday 23:59
    nepal.add(window('2026-06-01T18:15:00Z', 2)); // Tuesday 00:00
    expect(cell(nepal.cells(), 0, 23)).toMatchObject({ avgViewers: 1, windows: 1 });
    expect(cell(nepal.cells(), 1, 0)).toMatchObject({ avgViewers: 2, windows: 1 });
  });

  it('knows IANA zones and refuses anything else', () => {
    expect(isTimeZone('America/New_York')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('+02:00x')).toBe(false);
  });
});
