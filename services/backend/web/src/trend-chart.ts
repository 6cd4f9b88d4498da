import type { ViewerPoint } from '@viewer-analytics/shared';
import { formatMoment, formatNumber, formatWhole } from './format.js';
import uPlot from './vendor/uplot/uPlot.esm.js';

const HEIGHT = 280;
const SECOND_MS = 1_000;
const DAY_S = 86_400;
const HOUR_S = 3_600;
/** Time-axis steps from a minute up (windows are a minute long: no ticks between seconds). */
const TIME_STEPS = [
  ...[1, 2, 5, 10, 15, 30].map((minutes) => minutes * 60),
  ...[1, 2, 3, 6, 12].map((hours) => hours * HOUR_S),
  ...[1, 2, 7, 14, 28, 91, 182, 364].map((days) => days * DAY_S),
];
/** Whole-viewer steps for the value axis: a chart of 3 viewers has no tick at 0.5. */
const VIEWER_STEPS = Array.from({ length: 8 }, (_, power) => [1, 2, 5].map((step) => step * 10 ** power)).flat();

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const date = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

export interface PeakMark {
  readonly viewers: number;
  /** Start of the first window holding the peak. */
  readonly at: string;
}

export interface ViewerChart {
  destroy(): void;
}

/**
 * The points as uPlot's columns (seconds; peak, average, minimum), with a row of nulls after every
 * point whose successor does not follow within `bucketMs`: a time with no windows is a gap in the
 * lines, never a line drawn across it.
 */
function columns(points: readonly ViewerPoint[], bucketMs: number): uPlot.AlignedData {
  const time: number[] = [];
  const peak: (number | null)[] = [];
  const average: (number | null)[] = [];
  const minimum: (number | null)[] = [];
  points.forEach((point, index) => {
    const start = Date.parse(point.timestamp);
    time.push(start / SECOND_MS);
    peak.push(point.peakViewers);
    average.push(point.avgViewers);
    minimum.push(point.minViewers);
    const next = points[index + 1];
    if (next !== undefined && Date.parse(next.timestamp) > start + bucketMs) {
      time.push((start + bucketMs) / SECOND_MS);
      peak.push(null);
      average.push(null);
      minimum.push(null);
    }
  });
  return [time, peak, average, minimum];
}

/** Points with no neighbour on either side: a line cannot show them, so they are drawn as dots. */
const isolatedPoints: uPlot.Series.Points.Filter = (chart, seriesIndex, show) => {
  if (show) return null; // uPlot draws every point already
  const values = chart.data[seriesIndex] ?? [];
  const isolated: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] != null && values[i - 1] == null && values[i + 1] == null) isolated.push(i);
  }
  return isolated.length > 0 ? isolated : null;
};

const series = (label: string, stroke: string, digits: (value: number) => string, dash?: number[]): uPlot.Series => ({
  label,
  stroke,
  width: 2,
  ...(dash === undefined ? {} : { dash }),
  // uPlot passes null where the series has a gap, whatever its types say.
  value: (_chart: uPlot, value: number | null) => (value === null ? '—' : digits(value)),
  points: { filter: isolatedPoints, size: 7, fill: stroke },
});

/** Tick labels in the browser's time zone: the clock, and the date where a new day starts. */
function timeTicks(_chart: uPlot, splits: number[], _axis: number, _space: number, increment: number): string[] {
  let previousDay = '';
  return splits.map((split) => {
    const moment = new Date(split * SECOND_MS);
    const day = date.format(moment);
    const label = increment >= DAY_S ? day : day === previousDay ? clock.format(moment) : `${clock.format(moment)}\n${day}`;
    previousDay = day;
    return label;
  });
}

/**
 * Viewers over time with uPlot: a time axis in local time, a value axis, the legend as the hover
 * read-out, gaps where no windows were stored, lone windows as dots, and the peak marked with its
 * time and value. `describe` receives a sentence naming the axes (canvas text is invisible to
 * screen readers).
 */
export function drawViewerChart(
  container: HTMLElement,
  points: readonly ViewerPoint[],
  bucketMs: number,
  peak: PeakMark | undefined,
  describe: (text: string) => void,
): ViewerChart {
  const data = columns(points, bucketMs);
  const bucketS = bucketMs / SECOND_MS;
  const ticks: { time: string[]; viewers: string[] } = { time: [], viewers: [] };
  const marker = peakMarker(peak, points);

  const options: uPlot.Options = {
    width: Math.max(300, container.clientWidth),
    height: HEIGHT,
    series: [
      { label: 'Time', value: (_chart: uPlot, value: number | null) => (value === null ? '—' : formatMoment(value * SECOND_MS)) },
      series('Peak', '#d1495b', formatWhole),
      series('Average', '#1f6feb', formatNumber),
      series('Minimum', '#8a94a6', formatWhole, [6, 4]),
    ],
    scales: {
      x: {
        time: true,
        // One window alone gets a window's time either side, so it is drawn mid-chart (uPlot would
        // give it a thousand days).
        range: (chart, min, max) => {
          const only = chart.data[0].length === 1 ? chart.data[0][0] : undefined;
          return only === undefined ? [min, max] : [only - bucketS, only + bucketS];
        },
      },
      y: { range: (_chart, _min, max) => [0, Math.max(1, max) * 1.1] },
    },
    axes: [
      {
        incrs: TIME_STEPS,
        values: (...args) => (ticks.time = timeTicks(...args)),
        grid: { stroke: '#eef0f4' },
      },
      {
        label: 'Viewers',
        incrs: VIEWER_STEPS,
        values: (_chart, splits) => (ticks.viewers = splits.map((split) => formatWhole(split))),
        grid: { stroke: '#eef0f4' },
      },
    ],
    cursor: { points: { size: 8 } },
    hooks: {
      draw: [
        (chart) => {
          marker?.place(chart);
          describe(
            `Time axis (local time): ${ticks.time.map((tick) => tick.replace('\n', ' ')).join(', ')}. Viewers axis: ${ticks.viewers.join(', ')}.`,
          );
        },
      ],
    },
  };
  const chart = new uPlot(options, data, container);
  if (marker !== undefined) chart.over.append(marker.element);
  const resize = new ResizeObserver(() => {
    chart.setSize({ width: Math.max(300, container.clientWidth), height: HEIGHT });
  });
  resize.observe(container);
  return {
    destroy() {
      resize.disconnect();
      chart.destroy();
    },
  };
}

/**
 * A ring on the point where the peak line reaches the range's peak, labelled with the peak's
 * value and the moment it began (from the summary: a downsampled point starts earlier).
 */
function peakMarker(peak: PeakMark | undefined, points: readonly ViewerPoint[]): { element: HTMLElement; place(chart: uPlot): void } | undefined {
  if (peak === undefined) return undefined;
  const point = points.find((candidate) => candidate.peakViewers === peak.viewers);
  const x = Date.parse(point?.timestamp ?? peak.at) / SECOND_MS;
  const element = document.createElement('div');
  element.className = 'peak-marker';
  const label = document.createElement('span');
  label.textContent = `Peak ${formatWhole(peak.viewers)} · ${formatMoment(peak.at)}`;
  element.append(label);
  return {
    element,
    place(chart) {
      const left = chart.valToPos(x, 'x');
      element.style.left = `${String(left)}px`;
      element.style.top = `${String(chart.valToPos(peak.viewers, 'y'))}px`;
      // Near the right edge the label goes to the left of the ring, so it stays inside the plot.
      element.classList.toggle('flip', left > chart.over.clientWidth * 0.6);
    },
  };
}
