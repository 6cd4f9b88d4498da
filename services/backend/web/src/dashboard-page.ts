import type { Auction, AuctionSettings, TimeRange, ViewerAnalytics, ViewerPoint, ViewerSummary } from '@viewer-analytics/shared';
import { api, download, errorText, takeToken } from './api-client.js';
import { element } from './dom.js';
import { formatDuration, formatMinutes, formatMoment, formatNumber, formatWhole } from './format.js';
import { auctionIdFromPath } from './page-config.js';
import { drawViewerChart, type ViewerChart } from './trend-chart.js';

const TREND_ROWS = 20;
const auctionId = auctionIdFromPath();
const token = takeToken();
const base = `/api/v1/auctions/${encodeURIComponent(auctionId)}`;

const title = element('auction-title', HTMLHeadingElement);
const toggle = element('analytics-toggle', HTMLButtonElement);
const body = element('analytics-body', HTMLDivElement);
const range = element('time-range', HTMLSelectElement);
const refresh = element('refresh', HTMLButtonElement);
const csv = element('download-csv', HTMLButtonElement);
const settingLabel = element('setting', HTMLLabelElement);
const enable = element('enable-analytics', HTMLInputElement);
const message = element('message', HTMLParagraphElement);
const content = element('analytics-content', HTMLDivElement);
const chartContainer = element('chart', HTMLDivElement);
const chartAxes = element('chart-axes', HTMLParagraphElement);
const chartBucket = element('chart-bucket', HTMLSpanElement);
const trend = element('trend', HTMLOListElement);
const trendHeading = element('trend-heading', HTMLHeadingElement);

let loaded = false;
let chart: ViewerChart | undefined;

void api<Auction>(base, token).then(
  (auction) => {
    title.textContent = auction.title;
  },
  (error: unknown) => {
    showMessage(errorText(error), 'error');
  },
);

// Lazy: nothing is fetched for the section until someone opens it.
toggle.addEventListener('click', () => {
  setOpen(toggle.getAttribute('aria-expanded') !== 'true');
});
refresh.addEventListener('click', () => void load());
range.addEventListener('change', () => {
  keepInAddress();
  void load();
});
enable.addEventListener('change', () => void changeSetting(enable.checked));
csv.addEventListener('click', () => void downloadCsv());

// The address holds the view (?timeRange=…&analytics=open): a reload or a shared link opens it as it was.
const linked = new URLSearchParams(location.search);
const linkedRange = linked.get('timeRange');
if (linkedRange !== null && [...range.options].some((option) => option.value === linkedRange)) range.value = linkedRange;
if (linked.get('analytics') === 'open') setOpen(true);

function setOpen(open: boolean): void {
  toggle.setAttribute('aria-expanded', String(open));
  body.hidden = !open;
  keepInAddress();
  if (open && !loaded) {
    loaded = true;
    void load();
  }
}

function keepInAddress(): void {
  const params = new URLSearchParams(location.search);
  params.set('timeRange', range.value);
  if (toggle.getAttribute('aria-expanded') === 'true') params.set('analytics', 'open');
  else params.delete('analytics');
  history.replaceState(null, '', `${location.pathname}?${params.toString()}${location.hash}`);
}

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
    csv.hidden = true;
    showMessage(errorText(error), 'error');
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
    showMessage(errorText(error), 'error');
  } finally {
    enable.disabled = false;
  }
}

/** The stored windows of the selected range, as the API's CSV (never downsampled). */
async function downloadCsv(): Promise<void> {
  csv.disabled = true;
  try {
    await download(`${base}/analytics/viewers?timeRange=${range.value as TimeRange}&format=csv`, token, `auction-${auctionId}-viewers.csv`);
  } catch (error) {
    showMessage(errorText(error), 'error');
  } finally {
    csv.disabled = false;
  }
}

function render({ enabled, snapshots, bucketMs, downsampled, summary }: ViewerAnalytics): void {
  chart?.destroy();
  chart = undefined;
  // Snapshots stored while analytics was on can still be downloaded after it is turned off.
  csv.hidden = summary.snapshots === 0;
  if (!enabled) {
    content.hidden = true;
    showMessage('Viewer analytics is disabled for this auction: turn on “Enable Viewer Analytics Tracking” to store viewer counts every minute.', 'empty');
    return;
  }
  if (snapshots.length === 0) {
    content.hidden = true;
    showMessage('No snapshots in this time range yet: the first one arrives about a minute after viewers join.', 'empty');
    return;
  }
  showMessage('', 'none');
  content.hidden = false;
  renderSummary(summary);
  chartBucket.textContent = formatDuration(bucketMs);
  chart = drawViewerChart(
    chartContainer,
    snapshots,
    bucketMs,
    summary.peakAt === null ? undefined : { viewers: summary.peakViewers, at: summary.peakAt },
    (text) => {
      chartAxes.textContent = text;
    },
  );
  // Long ranges come merged into buckets by the server: say how long one row is.
  trendHeading.textContent = downsampled
    ? `Trend (last ${String(TREND_ROWS)} points, ${formatDuration(bucketMs)} each)`
    : `Trend (last ${String(TREND_ROWS)} snapshots)`;
  renderTrend(snapshots.slice(-TREND_ROWS).reverse(), summary.peakViewers);
}

/** The range's figures as the API computed them over every stored window (not the points). */
function renderSummary(summary: ViewerSummary): void {
  element('stat-peak', HTMLElement).textContent = formatWhole(summary.peakViewers);
  const peakAt = element('stat-peak-at', HTMLTimeElement);
  peakAt.dateTime = summary.peakAt ?? '';
  peakAt.textContent = summary.peakAt === null ? '' : `at ${formatMoment(summary.peakAt)}`;
  element('stat-average', HTMLElement).textContent = summary.avgViewers.toFixed(1);
  element('stat-minimum', HTMLElement).textContent = formatWhole(summary.minViewers);
  element('stat-duration', HTMLElement).textContent = formatDuration(summary.durationMs);
  element('stat-viewer-minutes', HTMLElement).textContent = formatNumber(summary.viewerMinutes);
  element('stat-unique', HTMLElement).textContent = formatWhole(summary.uniqueViewers);
  element('stat-watch-time', HTMLElement).textContent = formatMinutes(summary.avgWatchMinutes);
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
