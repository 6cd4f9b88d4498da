import type { ViewerPoint } from '@viewer-analytics/shared';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const HEIGHT = 180;
const SERIES = [
  ['peakViewers', 'peak'],
  ['avgViewers', 'average'],
  ['minViewers', 'minimum'],
] as const;

/** Viewers over time (peak, average, minimum) as an SVG line chart: no chart library needed. */
export function drawTrendChart(svg: SVGSVGElement, snapshots: readonly ViewerPoint[]): void {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${String(WIDTH)} ${String(HEIGHT)}`);
  if (snapshots.length === 0) return;
  const times = snapshots.map((snapshot) => Date.parse(snapshot.timestamp));
  const start = times[0] ?? 0;
  const span = Math.max(1, (times.at(-1) ?? 0) - start);
  const top = Math.max(1, ...snapshots.map((snapshot) => snapshot.peakViewers));
  const x = (time: number): number => (snapshots.length === 1 ? WIDTH / 2 : ((time - start) / span) * (WIDTH - 20) + 10);
  const y = (value: number): number => HEIGHT - 10 - (value / top) * (HEIGHT - 20);

  for (const [field, name] of SERIES) {
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', snapshots.map((s, i) => `${x(times[i] ?? 0).toFixed(1)},${y(s[field]).toFixed(1)}`).join(' '));
    line.setAttribute('class', `series series-${name}`);
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${name} viewers`;
    line.append(title);
    svg.append(line);
  }
}
