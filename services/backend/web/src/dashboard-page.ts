import type { Auction, AuctionSettings, TimeRange, ViewerAnalytics, ViewerPoint } from '@viewer-analytics/shared';
import { api, ApiError, takeToken } from './api-client.js';
import { auctionIdFromPath } from './page-config.js';
import { drawTrendChart } from './trend-chart.js';
import { formatDuration, viewerStats } from './viewer-stats.js';

const TREND_ROWS = 20;
const auctionId = auctionIdFromPath();
const token = takeToken();
const base = `/api/v1/auctions/${encodeURIComponent(auctionId)}`;

function element<T extends Element>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page lacks #${id}`);
  return found;
}
const title = element('auction-title', HTMLHeadingElement);
const toggle = element('analytics-toggle', HTMLButtonElement);
const body = element('analytics-body', HTMLDivElement);
const range = element('time-range', HTMLSelectElement);
const refresh = element('refresh', HTMLButtonElement);
const settingLabel = element('setting', HTMLLabelElement);
const enable = element('enable-analytics', HTMLInputElement);
const message = element('message', HTMLParagraphElement);
const content = element('analytics-content', HTMLDivElement);
const chart = element('chart', SVGSVGElement);
const trend = element('trend', HTMLOListElement);
const trendHeading = element('trend-heading', HTMLHeadingElement);

let loaded = false;

void api<Auction>(base, token).then(
  (auction) => {
    title.textContent = auction.title;
  },
  (error: unknown) => {
    showMessage(error instanceof ApiError ? error.message : String(error), 'error');
  },
);

// Lazy: nothing is fetched for the section until someone opens it.
toggle.addEventListener('click', () => {
  const open = toggle.getAttribute('aria-expanded') !== 'true';
  toggle.setAttribute('aria-expanded', String(open));
  body.hidden = !open;
  if (open && !loaded) {
    loaded = true;
    void load();
  }
});
refresh.addEventListener('click', () => void load());
range.addEventListener('change', () => void load());
enable.addEventListener('change', () => void changeSetting(enable.checked));

async function load(): Promise<void> {
  setBusy(true);
  try {
    const [analytics, settings] = await Promise.all([
      api<ViewerAnalytics>(`${base}/analytics/viewers?timeRange=${range.value as TimeRange}`, token),
      api<AuctionSettings>(`${base}/settings`, token),
    ]);
    settingLabel.hidden = false;
    enable.checked = settings.enableViewerAnalytics;
    render(analytics);
  } catch (error) {
    content.hidden = true;
    showMessage(error instanceof ApiError ? error.message : String(error), 'error');
  } finally {
    setBusy(false);
  }
}

async function changeSetting(enableViewerAnalytics: boolean): Promise<void> {
  enable.disabled = true;
  try {
    await api<AuctionSettings>(`${base}/settings`, token, { method: 'PATCH', body: JSON.stringify({ enableViewerAnalytics }) });
    await load();
  } catch (error) {
    enable.checked = !enableViewerAnalytics;
    showMessage(error instanceof ApiError ? error.message : String(error), 'error');
  } finally {
    enable.disabled = false;
  }
}

function render({ enabled, snapshots, bucketMs, downsampled }: ViewerAnalytics): void {
  const stats = viewerStats(snapshots, bucketMs);
  if (!enabled) {
    content.hidden = true;
    showMessage('Viewer analytics is disabled for this auction: turn on “Enable Viewer Analytics Tracking” to store viewer counts every minute.', 'empty');
    return;
  }
  if (stats === undefined) {
    content.hidden = true;
    showMessage('No snapshots in this time range yet: the first one arrives about a minute after viewers join.', 'empty');
    return;
  }
  showMessage('', 'none');
  content.hidden = false;
  element('stat-peak', HTMLElement).textContent = String(stats.peak);
  element('stat-average', HTMLElement).textContent = stats.average.toFixed(1);
  element('stat-minimum', HTMLElement).textContent = String(stats.minimum);
  element('stat-duration', HTMLElement).textContent = formatDuration(stats.durationMs);
  drawTrendChart(chart, snapshots);
  // Long ranges come merged into buckets by the server: say how long one row is.
  trendHeading.textContent = downsampled
    ? `Trend (last ${String(TREND_ROWS)} points, ${formatDuration(bucketMs)} each)`
    : `Trend (last ${String(TREND_ROWS)} snapshots)`;
  renderTrend(snapshots.slice(-TREND_ROWS).reverse(), stats.peak);
}

/** The newest points, each with bars scaled to the overall peak. */
function renderTrend(rows: readonly ViewerPoint[], peak: number): void {
  trend.replaceChildren(
    ...rows.map((snapshot) => {
      const item = document.createElement('li');
      const time = document.createElement('time');
      time.dateTime = snapshot.timestamp;
      time.textContent = new Date(snapshot.timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.setProperty('--avg', String(snapshot.avgViewers / Math.max(1, peak)));
      bar.style.setProperty('--peak', String(snapshot.peakViewers / Math.max(1, peak)));
      const figures = document.createElement('span');
      figures.className = 'figures';
      figures.textContent = `avg ${snapshot.avgViewers.toFixed(1)} · peak ${String(snapshot.peakViewers)} · min ${String(snapshot.minViewers)}`;
      item.append(time, bar, figures);
      return item;
    }),
  );
}

function showMessage(text: string, kind: 'error' | 'empty' | 'none'): void {
  message.textContent = text;
  message.dataset['kind'] = kind;
  message.hidden = kind === 'none';
}

function setBusy(busy: boolean): void {
  refresh.disabled = busy;
  body.setAttribute('aria-busy', String(busy));
}
