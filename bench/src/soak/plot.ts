/**
 * A small hand-written SVG line plot: panels stacked over one time axis (minutes), each with its
 * own value axis and unit, and shaded time ranges (the warm-up, the parts a verdict compares).
 * No dependency: the bench writes one picture per soak.
 */

export interface PlotLine {
  readonly name: string;
  readonly color: string;
  /** Dashed, with a dot on every point: a sparse series (non-finite values are left out). */
  readonly dashed?: boolean;
  readonly points: readonly { readonly t: number; readonly value: number }[];
}

export interface PlotPanel {
  readonly title: string;
  readonly unit: string;
  readonly lines: readonly PlotLine[];
}

export interface PlotBand {
  readonly from: number;
  readonly to: number;
  readonly label: string;
  readonly color: string;
}

export interface PlotOptions {
  readonly title: string;
  /** One line each under the title. */
  readonly subtitle: readonly string[];
  /** Seconds: the time axis runs from 0 to here. */
  readonly totalSeconds: number;
  readonly bands: readonly PlotBand[];
  readonly panels: readonly PlotPanel[];
}

const WIDTH = 960;
const LEFT = 80;
const RIGHT = 24;
const TOP = 86;
const PANEL_HEIGHT = 150;
const PANEL_GAP = 62;
const LEGEND_WIDTH = 180;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** 1, 2 or 5 × a power of ten, the first at least `rough`. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 5, 10]) if (m * power >= rough) return m * power;
  return 10 * power;
}

function label(value: number, step: number): string {
  const digits = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step)));
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * The value range: the data's, widened to at least 20 % of the largest value so that noise of a
 * few percent does not fill the panel and look like a trend.
 */
function valueAxis(values: readonly number[]): { lo: number; hi: number; step: number } {
  const finite = values.filter(Number.isFinite);
  const min = finite.length === 0 ? 0 : Math.min(...finite);
  const max = finite.length === 0 ? 1 : Math.max(...finite);
  const half = (Math.max(max - min, 0.2 * Math.abs(max), 1e-9) / 2) * 1.1;
  const middle = (min + max) / 2;
  // Values that cannot be negative (memory, lag, rates) keep a non-negative axis.
  const lo = min >= 0 ? Math.max(0, middle - half) : middle - half;
  const hi = middle + half;
  const step = niceStep((hi - lo) / 4);
  return { lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, step };
}

export function svgPlot(options: PlotOptions): string {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const height = TOP + options.panels.length * (PANEL_HEIGHT + PANEL_GAP);
  const x = (t: number): number => LEFT + (t / options.totalSeconds) * plotWidth;
  const minuteStep = options.totalSeconds >= 300 ? 60 : 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT} font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${LEFT}" y="24" font-size="16" font-weight="600">${escape(options.title)}</text>`,
    ...options.subtitle.map((line, i) => `<text x="${LEFT}" y="${44 + 16 * i}" fill="#555">${escape(line)}</text>`),
  ];
  options.panels.forEach((panel, index) => {
    const top = TOP + index * (PANEL_HEIGHT + PANEL_GAP) + 18;
    const bottom = top + PANEL_HEIGHT;
    const axis = valueAxis(panel.lines.flatMap((line) => line.points.map((p) => p.value)));
    const y = (value: number): number => bottom - ((value - axis.lo) / (axis.hi - axis.lo)) * PANEL_HEIGHT;
    out.push(`<text x="${LEFT}" y="${top - 8}" font-size="13" font-weight="600">${escape(panel.title)} (${escape(panel.unit)})</text>`);
    for (const band of options.bands) {
      out.push(
        `<rect x="${x(band.from).toFixed(1)}" y="${top}" width="${(x(band.to) - x(band.from)).toFixed(1)}" height="${PANEL_HEIGHT}" fill="${band.color}"/>`,
        `<text x="${(x(band.from) + 4).toFixed(1)}" y="${top + 12}" fill="#777" font-size="10">${escape(band.label)}</text>`,
      );
    }
    for (let value = axis.lo; value <= axis.hi + axis.step / 2; value += axis.step) {
      const at = y(value).toFixed(1);
      out.push(
        `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${at}" y2="${at}" stroke="#e3e3e3"/>`,
        `<text x="${LEFT - 6}" y="${at}" text-anchor="end" dominant-baseline="middle" fill="#444">${label(value, axis.step)}</text>`,
      );
    }
    for (let t = 0; t <= options.totalSeconds; t += minuteStep) {
      const at = x(t).toFixed(1);
      out.push(
        `<line x1="${at}" x2="${at}" y1="${bottom}" y2="${bottom + 4}" stroke="#444"/>`,
        `<text x="${at}" y="${bottom + 16}" text-anchor="middle" fill="#444">${minuteStep === 60 ? `${t / 60} min` : `${t} s`}</text>`,
      );
    }
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`);
    panel.lines.forEach((line, i) => {
      const points = line.points.filter((p) => Number.isFinite(p.value));
      const path = points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
      const dash = line.dashed === true ? ' stroke-dasharray="6 4"' : '';
      out.push(`<path d="${path}" fill="none" stroke="${line.color}" stroke-width="1.8" stroke-linejoin="round"${dash}/>`);
      if (line.dashed === true) {
        for (const p of points) out.push(`<circle cx="${x(p.t).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" fill="${line.color}"/>`);
      }
      const legendX = LEFT + plotWidth - LEGEND_WIDTH * (panel.lines.length - i);
      out.push(
        `<line x1="${legendX}" x2="${legendX + 18}" y1="${top - 12}" y2="${top - 12}" stroke="${line.color}" stroke-width="3"${dash}/>`,
        `<text x="${legendX + 24}" y="${top - 8}">${escape(line.name)}</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
