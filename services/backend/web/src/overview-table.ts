import type { AuctionOverview } from '@viewer-analytics/shared';
import { formatMoment, formatNumber, formatWhole } from './format.js';

/** An auction's row: the API's figures and the live count (undefined until the socket server answers). */
export interface Row extends AuctionOverview {
  live: number | undefined;
}

const SORT_KEYS = ['title', 'live', 'peakViewers', 'avgViewers', 'viewerMinutes', 'uniqueViewers', 'enableViewerAnalytics', 'createdAt'] as const;
type SortKey = (typeof SORT_KEYS)[number];
type Direction = 'ascending' | 'descending';
const isSortKey = (key: string | undefined): key is SortKey => (SORT_KEYS as readonly (string | undefined)[]).includes(key);

export interface TableEvents {
  /** The analytics checkbox of a row changed; resolve when stored, reject to put it back. */
  toggleAnalytics(row: Row, enabled: boolean): Promise<void>;
}

/** Unknown values (no live count, no unique viewers) sort after known ones either way. */
function compare(a: Row, b: Row, key: SortKey): number {
  const left = a[key];
  const right = b[key];
  if (left === right) return 0;
  if (left === null || left === undefined) return 1;
  if (right === null || right === undefined) return -1;
  if (typeof left === 'string' && typeof right === 'string') return left.localeCompare(right);
  return Number(left) - Number(right);
}

/**
 * The auctions table: one row per auction with a link to its dashboard and its analytics toggle,
 * sorted by the column whose heading was clicked last (again: the other way round), which says so
 * in its aria-sort.
 */
export class AuctionTable {
  private rows: Row[] = [];
  private key: SortKey = 'createdAt';
  private direction: Direction = 'descending';
  private timeRange = '';

  constructor(
    private readonly table: HTMLTableElement,
    private readonly events: TableEvents,
  ) {
    for (const heading of table.tHead?.querySelectorAll('th') ?? []) {
      heading.querySelector('button')?.addEventListener('click', () => {
        const key = heading.dataset['key'];
        if (!isSortKey(key)) return;
        // Figures read best largest first; names and toggles A to Z.
        const first: Direction = key === 'title' || key === 'enableViewerAnalytics' ? 'ascending' : 'descending';
        this.direction = key === this.key ? (this.direction === 'ascending' ? 'descending' : 'ascending') : first;
        this.key = key;
        this.render();
      });
    }
  }

  /** `timeRange`: the range the figures cover; each link opens the auction's Viewer Analytics over it. */
  show(rows: Row[], timeRange: string): void {
    this.rows = rows;
    this.timeRange = timeRange;
    this.render();
  }

  /** New live counts: only those cells change, unless the table is sorted by them. */
  showLive(counts: ReadonlyMap<string, number> | undefined): void {
    for (const row of this.rows) row.live = counts?.get(row.id);
    if (this.key === 'live') {
      this.render();
      return;
    }
    for (const cell of this.table.querySelectorAll<HTMLTableCellElement>('td[data-live]')) {
      cell.textContent = formatWhole(counts?.get(cell.dataset['live'] ?? ''));
    }
  }

  private render(): void {
    const sign = this.direction === 'ascending' ? 1 : -1;
    const sorted = [...this.rows].sort((a, b) => {
      const order = compare(a, b, this.key);
      // Unknowns stay last whichever way the column is sorted.
      const unknown = a[this.key] == null || b[this.key] == null;
      return unknown ? order : sign * order;
    });
    for (const heading of this.table.tHead?.querySelectorAll('th') ?? []) {
      heading.setAttribute('aria-sort', heading.dataset['key'] === this.key ? this.direction : 'none');
    }
    this.table.tBodies[0]?.replaceChildren(...sorted.map((row) => this.renderRow(row)));
  }

  private renderRow(row: Row): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.dataset['auctionId'] = row.id;
    const name = document.createElement('th');
    name.scope = 'row';
    const link = document.createElement('a');
    link.href = `/dashboard/auctions/${encodeURIComponent(row.id)}?${new URLSearchParams({ timeRange: this.timeRange, analytics: 'open' }).toString()}`;
    link.textContent = row.title;
    name.append(link);
    const live = numberCell(formatWhole(row.live));
    live.dataset['live'] = row.id;
    const analytics = document.createElement('td');
    const toggle = document.createElement('input');
    toggle.type = 'checkbox';
    toggle.checked = row.enableViewerAnalytics;
    toggle.setAttribute('aria-label', `Viewer analytics for ${row.title}`);
    const state = document.createElement('span');
    state.textContent = row.enableViewerAnalytics ? 'On' : 'Off';
    toggle.addEventListener('change', () => {
      const enabled = toggle.checked;
      toggle.disabled = true;
      this.events.toggleAnalytics(row, enabled).then(
        () => {
          row.enableViewerAnalytics = enabled;
          state.textContent = enabled ? 'On' : 'Off';
          toggle.disabled = false;
        },
        () => {
          toggle.checked = !enabled;
          toggle.disabled = false;
        },
      );
    });
    analytics.append(toggle, state);
    const created = document.createElement('td');
    const time = document.createElement('time');
    time.dateTime = row.createdAt;
    time.textContent = formatMoment(row.createdAt);
    created.append(time);
    tr.append(
      name,
      live,
      numberCell(formatWhole(row.peakViewers), row.peakAt === null ? undefined : `Peak at ${formatMoment(row.peakAt)}`),
      numberCell(formatNumber(row.avgViewers)),
      numberCell(formatWhole(row.viewerMinutes)),
      numberCell(formatWhole(row.uniqueViewers)),
      analytics,
      created,
    );
    return tr;
  }
}

function numberCell(text: string, title?: string): HTMLTableCellElement {
  const cell = document.createElement('td');
  cell.className = 'num';
  cell.textContent = text;
  if (title !== undefined) cell.title = title;
  return cell;
}
