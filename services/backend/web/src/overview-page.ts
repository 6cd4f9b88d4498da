import type { ADMIN_ROLE, Auction, AuctionSettings, Heatmap, Overview } from '@viewer-analytics/shared';
import { api, errorText, takeToken, tokenClaims } from './api-client.js';
import { element } from './dom.js';
import { formatNumber } from './format.js';
import { renderHeatmap } from './heatmap.js';
import { liveCounts } from './live-counts.js';
import { AuctionTable, type Row } from './overview-table.js';
import { socketHttpOrigin } from './page-config.js';

/** How often the live column asks the socket server again. */
const LIVE_REFRESH_MS = 5_000;

// The pages load no package code, only its types: the type keeps this literal equal to the role.
const ADMIN: typeof ADMIN_ROLE = 'admin';
const token = takeToken();
const admin = tokenClaims(token)?.role === ADMIN;
const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const socketOrigin = socketHttpOrigin();

const range = element('time-range', HTMLSelectElement);
const ownerLabel = element('owner-filter-label', HTMLLabelElement);
const owner = element('owner-filter', HTMLSelectElement);
const refresh = element('refresh', HTMLButtonElement);
const form = element('create-auction', HTMLFormElement);
const newTitle = element('new-title', HTMLInputElement);
const message = element('message', HTMLParagraphElement);
const empty = element('no-auctions', HTMLParagraphElement);
const heatmap = element('heatmap', HTMLTableElement);
const table = new AuctionTable(element('auctions', HTMLTableElement), {
  async toggleAnalytics(row, enableViewerAnalytics) {
    try {
      await api<AuctionSettings>(`/api/v1/auctions/${encodeURIComponent(row.id)}/settings`, token, {
        method: 'PATCH',
        body: JSON.stringify({ enableViewerAnalytics }),
      });
    } catch (error) {
      showError(error);
      throw error;
    }
  },
});

element('time-zone', HTMLSpanElement).textContent = timeZone;
// Only an admin sees other people's auctions, so only an admin can narrow them to one owner.
ownerLabel.hidden = !admin;
if (admin) {
  element('heading', HTMLHeadingElement).textContent = 'All auctions';
  document.title = 'All auctions';
}
/** Every owner an admin has seen in an unfiltered list, for the filter's choices. */
const owners = new Set<string>();
let rows: Row[] = [];
/** Loads started: a load whose number is no longer the newest shows nothing. */
let loads = 0;

range.addEventListener('change', () => void load());
owner.addEventListener('change', () => void load());
refresh.addEventListener('click', () => void load());
form.addEventListener('submit', (event) => {
  event.preventDefault();
  void create(newTitle.value.trim());
});

void load();
setInterval(() => {
  if (document.visibilityState === 'visible') void updateLive();
}, LIVE_REFRESH_MS);

function query(): string {
  const parameters = new URLSearchParams({ timeRange: range.value });
  if (owner.value !== '') parameters.set('ownerId', owner.value);
  return parameters.toString();
}

async function load(): Promise<void> {
  // A range or owner changed while a load was under way: only the newest load's answer is shown.
  const current = ++loads;
  refresh.disabled = true;
  try {
    const [overview, heat] = await Promise.all([
      api<Overview>(`/api/v1/analytics/overview?${query()}`, token),
      api<Heatmap>(`/api/v1/analytics/heatmap?${query()}&timeZone=${encodeURIComponent(timeZone)}`, token),
    ]);
    if (current !== loads) return;
    showMessage('');
    rows = overview.auctions.map((auction) => ({ ...auction, live: undefined }));
    table.show(rows, range.value);
    empty.hidden = rows.length > 0;
    if (admin) updateOwners(overview);
    element('heat-max', HTMLSpanElement).textContent = formatNumber(renderHeatmap(heatmap, heat.cells));
    await updateLive();
  } catch (error) {
    showError(error);
  } finally {
    refresh.disabled = false;
  }
}

async function updateLive(): Promise<void> {
  if (rows.length === 0) return;
  try {
    table.showLive(await liveCounts(socketOrigin, rows.map((row) => row.id)));
  } catch {
    // The socket server is away: the live column says it does not know ("—"), the rest stands.
    table.showLive(undefined);
  }
}

function updateOwners(overview: Overview): void {
  const before = owners.size;
  for (const auction of overview.auctions) owners.add(auction.ownerId);
  if (owners.size === before) return;
  const selected = owner.value;
  const choices = [...owners].sort().map((id) => new Option(id, id, false, id === selected));
  owner.replaceChildren(new Option('Every owner', '', false, selected === ''), ...choices);
}

async function create(title: string): Promise<void> {
  if (title === '') return;
  const submit = form.querySelector('button');
  if (submit !== null) submit.disabled = true;
  try {
    await api<Auction>('/api/v1/auctions', token, { method: 'POST', body: JSON.stringify({ title }) });
    newTitle.value = '';
    await load();
  } catch (error) {
    showError(error);
  } finally {
    if (submit !== null) submit.disabled = false;
  }
}

function showError(error: unknown): void {
  showMessage(errorText(error));
}

function showMessage(text: string): void {
  message.textContent = text;
  message.dataset['kind'] = text === '' ? 'none' : 'error';
  message.hidden = text === '';
}
