import type { HeatmapCell } from '@viewer-analytics/shared';
import { formatNumber, formatWhole } from './format.js';

const DAYS = 7;
const HOURS = 24;
/** 1 January 2024 was a Monday: the API's day 0. */
const MONDAY = Date.UTC(2024, 0, 1);
const weekday = (format: 'long' | 'short'): string[] => {
  const names = new Intl.DateTimeFormat(undefined, { weekday: format, timeZone: 'UTC' });
  return Array.from({ length: DAYS }, (_, day) => names.format(new Date(MONDAY + day * 86_400_000)));
};
const LONG_DAYS = weekday('long');
const SHORT_DAYS = weekday('short');
const hourLabel = (hour: number): string => `${String(hour).padStart(2, '0')}:00`;

/**
 * "When do people watch": a 7 × 24 table, a row per weekday (Monday first) and a column per local
 * hour, each cell shaded by its average viewers against the busiest cell and labelled in words for
 * screen readers; cells with no windows stay blank. Returns the busiest cell's average, for the legend.
 */
export function renderHeatmap(table: HTMLTableElement, cells: readonly HeatmapCell[]): number {
  const busiest = Math.max(0, ...cells.map((cell) => cell.avgViewers));

  const head = document.createElement('tr');
  head.append(document.createElement('td'));
  for (let hour = 0; hour < HOURS; hour++) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = String(hour).padStart(2, '0');
    th.setAttribute('aria-label', hourLabel(hour));
    head.append(th);
  }
  table.tHead?.replaceChildren(head);

  const rows = Array.from({ length: DAYS }, (_, day) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = SHORT_DAYS[day] ?? '';
    th.setAttribute('aria-label', LONG_DAYS[day] ?? '');
    tr.append(th);
    return tr;
  });
  // The API sends all 168 cells, Monday 0 h first; placing each by its own day and hour keeps the
  // table right whatever the order.
  const grid = new Map(cells.map((cell) => [cell.dayOfWeek * HOURS + cell.hour, cell]));
  rows.forEach((tr, day) => {
    for (let hour = 0; hour < HOURS; hour++) {
      const cell = grid.get(day * HOURS + hour);
      const td = document.createElement('td');
      const windows = cell?.windows ?? 0;
      const average = cell?.avgViewers ?? 0;
      const label =
        windows === 0
          ? `${LONG_DAYS[day] ?? ''} ${hourLabel(hour)}: no viewer windows`
          : `${LONG_DAYS[day] ?? ''} ${hourLabel(hour)}: ${formatNumber(average)} average viewers over ${formatWhole(windows)} windows`;
      td.setAttribute('aria-label', label);
      td.title = label;
      td.dataset['day'] = String(day);
      td.dataset['hour'] = String(hour);
      if (windows === 0) td.className = 'empty';
      else td.style.setProperty('--level', String(busiest > 0 ? average / busiest : 0));
      tr.append(td);
    }
  });
  table.tBodies[0]?.replaceChildren(...rows);
  return busiest;
}
