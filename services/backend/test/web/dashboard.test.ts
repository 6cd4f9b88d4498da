import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { VIEWER_CSV_COLUMNS, VisitorSketch, type TokenClaims, type ViewerAnalytics } from '@viewer-analytics/shared';
import { waitFor } from '@viewer-analytics/testkit';
import { ADMIN, bearer, createAuction, OWNER, STRANGER, snapshot, windowStart } from '../helper.js';
import { ingest, screenshot, textOf, useSystemAndBrowser } from './system.js';

const MINUTES = 25;
/** The browser's time zone in these tests: 5 h 30 min from UTC, so a chart in UTC would show. */
const TIME_ZONE = 'Asia/Kolkata';
const OFFSET_MINUTES = 330;
/** The legend's and axis's reading of the time one window starts, in TIME_ZONE on a 24-hour clock. */
function localClock(iso: string): string {
  const minutes = (Math.floor(Date.parse(iso) / 60_000) + OFFSET_MINUTES) % 1440;
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** What the test reads of a canvas element (the tests compile without the DOM's types). */
interface Canvas {
  readonly width: number;
  getBoundingClientRect(): { readonly width: number };
  getContext(kind: '2d'): { getImageData(x: number, y: number, width: number, height: number): { readonly data: Uint8ClampedArray } } | null;
}

/** A sketch of `count` distinct visitors, base64 as the socket server sends it. */
function visitors(count: number, offset = 0): { uniqueViewers: number; visitorSketch: string } {
  const sketch = new VisitorSketch();
  for (let i = 0; i < count; i++) sketch.add((offset + i) * 2_654_435_761 >>> 0);
  return { uniqueViewers: sketch.estimate(), visitorSketch: Buffer.from(sketch.toBytes()).toString('base64') };
}

describe('the Viewer Analytics dashboard in Chromium', () => {
  const env = useSystemAndBrowser(import.meta.filename);

  /** Opens the dashboard (in TIME_ZONE, British English) with a token in the fragment; counts the analytics requests it makes. */
  async function openDashboard(auctionId: string, claims?: TokenClaims): Promise<{ page: Page; analyticsRequests: () => number }> {
    const context = await env.browser.newContext({ timezoneId: TIME_ZONE, locale: 'en-GB', viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    let requests = 0;
    page.on('request', (request) => {
      if (request.url().includes('/analytics/viewers')) requests++;
    });
    const fragment = claims === undefined ? '' : `#token=${env.system.app.jwt.sign(claims)}`;
    await page.goto(`${env.system.backendUrl}/dashboard/auctions/${auctionId}${fragment}`);
    return { page, analyticsRequests: () => requests };
  }

  /** The legend's read-out: series label → value. */
  async function readOut(page: Page): Promise<Record<string, string>> {
    const series = page.locator('#chart .u-legend .u-series');
    const [labels, values] = await Promise.all([series.locator('.u-label').allTextContents(), series.locator('.u-value').allTextContents()]);
    return Object.fromEntries(labels.map((label, i) => [label, values[i] ?? '']));
  }

  /** Moves the mouse over the plot at a fraction of its width, half-way up. */
  async function hover(page: Page, fraction: number): Promise<void> {
    const box = await page.locator('#chart .u-over').boundingBox();
    if (box === null) throw new Error('the chart has no plot area');
    await page.mouse.move(box.x + fraction * box.width, box.y + box.height / 2);
  }

  /** Whether the chart's canvas shows the peak series' colour under the peak marker's centre. */
  async function paintedUnderPeakMarker(page: Page): Promise<string> {
    const [ring, plot] = await Promise.all([page.locator('#chart .peak-marker').boundingBox(), page.locator('#chart canvas').boundingBox()]);
    if (ring === null || plot === null) return 'no marker or canvas on the page';
    const centre = { x: ring.x + ring.width / 2 - plot.x, y: ring.y + ring.height / 2 - plot.y };
    return page.locator('#chart canvas').evaluate((element, { x, y }) => {
      const canvas = element as unknown as Canvas;
      const scale = canvas.width / canvas.getBoundingClientRect().width;
      const pixels = canvas.getContext('2d')?.getImageData(Math.round(x * scale) - 2, Math.round(y * scale) - 2, 5, 5).data ?? [];
      // The peak series' colour, #d1495b: opaque, red well above green and blue.
      for (let i = 0; i < pixels.length; i += 4) {
        const [r = 0, g = 0, b = 0, a = 0] = Array.from(pixels.slice(i, i + 4));
        if (a > 200 && r > 180 && g < 120 && b < 140) return 'painted';
      }
      return `not painted at ${String(x)},${String(y)}`;
    }, centre);
  }

  it('fetches nothing until expanded, then shows the summary, a chart with axes in local time, a read-out and the peak', async () => {
    const auctionId = await createAuction(env.system.app);
    const snapshots = Array.from({ length: MINUTES }, (_, i) =>
      snapshot({
        timestamp: windowStart(MINUTES - i),
        viewerCount: 100 + i,
        avgViewers: 90 + i,
        peakViewers: 120 + 2 * i,
        minViewers: 80 + i,
        // 40 visitors in every window, 10 of them new each minute: 40 + 24 × 10 distinct over the range.
        ...visitors(40, 10 * i),
      }),
    );
    await ingest(env.system.app, auctionId, snapshots);
    const first = snapshots[0]?.timestamp ?? '';
    const peakAt = snapshots.at(-1)?.timestamp ?? '';

    const { page, analyticsRequests } = await openDashboard(auctionId, OWNER);
    await textOf(page, '#auction-title', 'Test auction');
    expect(page.url()).not.toContain('token='); // taken out of the address bar
    expect(analyticsRequests()).toBe(0);

    await page.click('#analytics-toggle');
    const peak = 120 + 2 * (MINUTES - 1);
    await textOf(page, '#stat-peak', String(peak));
    await textOf(page, '#stat-peak-at', new RegExp(`^at .*${localClock(peakAt)}$`));
    await textOf(page, '#stat-average', (90 + (MINUTES - 1) / 2).toFixed(1));
    await textOf(page, '#stat-minimum', '80');
    await textOf(page, '#stat-duration', `${String(MINUTES)} min`);
    // 12 samples of 5 s at the window's average: avg viewer-minutes each, 90 + 91 + … + 114 in all.
    const viewerMinutes = MINUTES * 90 + (MINUTES * (MINUTES - 1)) / 2;
    await textOf(page, '#stat-viewer-minutes', viewerMinutes.toLocaleString('en-GB'));
    const unique = 40 + 10 * (MINUTES - 1);
    await textOf(page, '#stat-unique', String(unique));
    await textOf(page, '#stat-watch-time', `${(viewerMinutes / unique).toFixed(1)} min`);
    expect(await page.locator('#trend li').count()).toBe(20);
    expect(await page.locator('#trend li').first().textContent()).toContain(`peak ${String(peak)}`);
    expect(await page.locator('#enable-analytics').isChecked()).toBe(true);
    expect(analyticsRequests()).toBe(1);

    // Axes: the tick labels uPlot drew on its canvas, as the figure describes them to screen readers.
    await textOf(page, '#chart-axes', /^Time axis \(local time\): .+\. Viewers axis: 0, .+\.$/);
    const axes = (await page.locator('#chart-axes').textContent()) ?? '';
    const timeTicks = [...(/Time axis \(local time\): (.*?)\. Viewers/.exec(axes)?.[1] ?? '').matchAll(/(\d\d):(\d\d)/g)];
    const minuteOfDay = (clock: string): number => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3));
    const [from, to] = [minuteOfDay(localClock(first)), minuteOfDay(localClock(peakAt))];
    expect(timeTicks.length).toBeGreaterThanOrEqual(2);
    for (const [, hours, minutes] of timeTicks) {
      const tick = Number(hours) * 60 + Number(minutes);
      // On the browser's clock (UTC would be 5 h 30 min off), within the data's span (across midnight too).
      expect((tick - from + 1440) % 1440).toBeLessThanOrEqual((to - from + 1440) % 1440);
    }
    const viewerTicks = (/Viewers axis: (.*)\.$/.exec(axes)?.[1] ?? '').split(', ').map(Number);
    expect(viewerTicks[0]).toBe(0);
    expect(Math.max(...viewerTicks)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...viewerTicks)).toBeLessThanOrEqual(peak * 1.1);

    // The peak: a marker labelled with its value and local time, at the right end where it happened.
    const marker = page.locator('#chart .peak-marker');
    await textOf(page, '#chart .peak-marker', `Peak ${String(peak)} · ${(await page.locator('#stat-peak-at').textContent())?.slice(3) ?? ''}`);
    const [markerBox, plotBox] = await Promise.all([marker.boundingBox(), page.locator('#chart .u-over').boundingBox()]);
    expect(markerBox !== null && plotBox !== null && markerBox.x > plotBox.x + 0.9 * plotBox.width).toBe(true);

    // Hovering reads the values out in the legend: the first window at the left edge, the last at the right.
    await hover(page, 0.01);
    await waitFor(async () => (await readOut(page))['Peak'] === '120', 5_000, 'the read-out of the first window');
    expect(await readOut(page)).toEqual({ Time: expect.stringContaining(localClock(first)) as unknown, Peak: '120', Average: '90', Minimum: '80' });
    await screenshot(page, 'dashboard-chart-hover');
    await hover(page, 0.99);
    await waitFor(async () => (await readOut(page))['Peak'] === String(peak), 5_000, 'the read-out of the last window');
    expect(await readOut(page)).toEqual({ Time: expect.stringContaining(localClock(peakAt)) as unknown, Peak: String(peak), Average: '114', Minimum: '104' });
    await screenshot(page, 'dashboard-expanded');

    await page.click('#refresh');
    await waitFor(() => analyticsRequests() === 2, 5_000, 'the refresh to fetch again');
    await page.selectOption('#time-range', '1h');
    await waitFor(() => analyticsRequests() === 3, 5_000, 'the new time range to be fetched');
    await textOf(page, '#stat-peak', String(peak));
    await page.context().close();
  });

  it('opens the view its address names (range, section open) without a click, and keeps the address in step', async () => {
    const auctionId = await createAuction(env.system.app);
    await ingest(env.system.app, auctionId, [snapshot({ timestamp: windowStart(3), viewerCount: 40, avgViewers: 40, peakViewers: 42, minViewers: 38 })]);
    const context = await env.browser.newContext({ timezoneId: TIME_ZONE, locale: 'en-GB' });
    const page = await context.newPage();
    const asked: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/analytics/viewers')) asked.push(new URL(request.url()).search);
    });
    const path = `/dashboard/auctions/${auctionId}`;
    await page.goto(`${env.system.backendUrl}${path}?timeRange=24h&analytics=open#token=${env.system.app.jwt.sign(OWNER)}`);
    await textOf(page, '#stat-peak', '42');
    expect(await page.locator('#time-range').inputValue()).toBe('24h');
    expect(asked).toEqual(['?timeRange=24h']);

    await page.locator('#time-range').selectOption('7d');
    await waitFor(() => asked.length === 2, 5_000, 'the 7-day range asked for');
    expect(new URL(page.url()).search).toBe('?timeRange=7d&analytics=open');
    await page.locator('#analytics-toggle').click();
    expect(new URL(page.url()).search).toBe('?timeRange=7d');
    // A range the page does not offer is ignored, and nothing opens.
    await page.goto(`${env.system.backendUrl}${path}?timeRange=3y`);
    await textOf(page, '#auction-title', 'Test auction');
    expect(await page.locator('#time-range').inputValue()).toBe('all');
    expect(await page.locator('#analytics-toggle').getAttribute('aria-expanded')).toBe('false');
    await context.close();
  });

  it('leaves a gap where no windows were stored instead of drawing across it', async () => {
    const auctionId = await createAuction(env.system.app);
    // Minutes 30 to 21 ago, then nothing until 5 ago.
    const minutesAgo = [...Array.from({ length: 10 }, (_, i) => 30 - i), ...Array.from({ length: 5 }, (_, i) => 5 - i)];
    await ingest(env.system.app, auctionId, minutesAgo.map((ago) => snapshot({ timestamp: windowStart(ago) })));
    const { page } = await openDashboard(auctionId, OWNER);
    await page.click('#analytics-toggle');
    await textOf(page, '#stat-peak', '475');
    // The x axis spans 30 → 1 minutes ago: 17 minutes ago is inside the gap.
    await hover(page, (30 - 17) / (30 - 1));
    await waitFor(async () => (await readOut(page))['Peak'] === '—', 5_000, 'the read-out to show no value in the gap');
    await hover(page, (30 - 25) / (30 - 1));
    await waitFor(async () => (await readOut(page))['Peak'] === '475', 5_000, 'the read-out before the gap');
    await screenshot(page, 'dashboard-gap');
    await page.context().close();
  });

  it('draws a single snapshot as a visible point, with the peak marked on it', async () => {
    const auctionId = await createAuction(env.system.app);
    await ingest(env.system.app, auctionId, [snapshot({ timestamp: windowStart(3), peakViewers: 9, avgViewers: 7, minViewers: 5, viewerCount: 6 })]);
    const { page } = await openDashboard(auctionId, OWNER);
    await page.click('#analytics-toggle');
    await textOf(page, '#stat-peak', '9');
    await textOf(page, '#stat-duration', '1 min');
    await textOf(page, '#chart .peak-marker', /^Peak 9 · /);
    // The canvas under the marker's centre holds the peak series' dot (a line of one point draws nothing).
    const ring = await page.locator('#chart .peak-marker').boundingBox();
    const painted = await paintedUnderPeakMarker(page);
    await screenshot(page, 'dashboard-single-snapshot');
    expect(painted).toBe('painted');
    // In the middle of a time axis a few minutes long, on the browser's clock.
    const over = await page.locator('#chart .u-over').boundingBox();
    expect(ring !== null && over !== null && Math.abs(ring.x + ring.width / 2 - (over.x + over.width / 2)) < 2).toBe(true);
    await textOf(page, '#chart-axes', new RegExp(`^Time axis \\(local time\\): .*${localClock(windowStart(3))}.*\\. Viewers axis: 0, .+\\.$`));
    await page.context().close();
  });

  it('draws a lone window between gaps as a dot, where a line has nothing to join', async () => {
    const auctionId = await createAuction(env.system.app);
    // 40 windows, one alone 20 minutes after them, 20 more after a second gap: too dense for uPlot to dot every point.
    const minutesAgo = [...Array.from({ length: 40 }, (_, i) => 100 - i), 40, ...Array.from({ length: 20 }, (_, i) => 20 - i)];
    await ingest(
      env.system.app,
      auctionId,
      minutesAgo.map((ago) => snapshot({ timestamp: windowStart(ago), peakViewers: ago === 40 ? 600 : 475 })),
    );
    const { page } = await openDashboard(auctionId, OWNER);
    await page.click('#analytics-toggle');
    await textOf(page, '#stat-peak', '600');
    await textOf(page, '#chart .peak-marker', /^Peak 600 · /);
    expect(await paintedUnderPeakMarker(page)).toBe('painted');
    await screenshot(page, 'dashboard-lone-window');
    await page.context().close();
  });

  it('downloads the range as CSV that parses back to the snapshots the JSON API gives', async () => {
    const auctionId = await createAuction(env.system.app);
    await ingest(
      env.system.app,
      auctionId,
      Array.from({ length: 6 }, (_, i) => snapshot({ timestamp: windowStart(6 - i), avgViewers: 10.5 + i, peakViewers: 20 + i, minViewers: 3, viewerCount: 12 })),
    );
    const { page } = await openDashboard(auctionId, OWNER);
    await page.click('#analytics-toggle');
    await textOf(page, '#stat-peak', '25');
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
    expect(file.suggestedFilename()).toBe(`auction-${auctionId}-viewers.csv`);
    const path = await file.path();
    const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split(/\r?\n/);
    expect(header?.split(',')).toEqual([...VIEWER_CSV_COLUMNS]);

    const json = await env.system.app.inject({ url: `/api/v1/auctions/${auctionId}/analytics/viewers?timeRange=all`, headers: bearer(env.system.app, OWNER) });
    const { snapshots } = json.json<{ data: ViewerAnalytics }>().data;
    expect(lines).toHaveLength(snapshots.length);
    const parsed = lines.map((line) => Object.fromEntries(VIEWER_CSV_COLUMNS.map((column, i) => [column, line.split(',')[i] ?? ''])));
    expect(parsed).toEqual(
      snapshots.map((point) =>
        Object.fromEntries(VIEWER_CSV_COLUMNS.map((column) => [column, column === 'timestamp' ? point.timestamp : String(point[column] ?? '')])),
      ),
    );
    await page.context().close();
  });

  it('shows the empty state for an auction with analytics off, and the toggle turns it on', async () => {
    const auctionId = await createAuction(env.system.app, { enableViewerAnalytics: false });
    const { page } = await openDashboard(auctionId, ADMIN);
    await page.click('#analytics-toggle');
    await textOf(page, '#message', /disabled for this auction/);
    expect(await page.locator('#enable-analytics').isChecked()).toBe(false);
    expect(await page.locator('#download-csv').isHidden()).toBe(true);
    await screenshot(page, 'dashboard-disabled');

    await page.check('#enable-analytics');
    await textOf(page, '#message', /No snapshots in this time range yet/);
    const settings = await env.system.app.inject({
      url: `/api/v1/auctions/${auctionId}/settings`,
      headers: bearer(env.system.app, OWNER),
    });
    expect(settings.json()).toEqual({ success: true, data: { enableViewerAnalytics: true } });
    await page.context().close();
  });

  it('tells people plainly when they are not signed in or not allowed', async () => {
    const auctionId = await createAuction(env.system.app);
    const anonymous = await openDashboard(auctionId);
    await anonymous.page.click('#analytics-toggle');
    await textOf(anonymous.page, '#message', /not signed in/);
    await screenshot(anonymous.page, 'dashboard-401');
    await anonymous.page.context().close();

    const stranger = await openDashboard(auctionId, STRANGER);
    await stranger.page.click('#analytics-toggle');
    await textOf(stranger.page, '#message', /not allowed/);
    expect(await stranger.page.locator('#setting').isHidden()).toBe(true);
    await stranger.page.context().close();
  });
});

describe('the dashboard while the backend is down', () => {
  const env = useSystemAndBrowser(import.meta.filename);

  it('shows that the backend cannot be reached, not a blank page', async () => {
    const auctionId = await createAuction(env.system.app);
    const page = await env.browser.newPage();
    await page.goto(`${env.system.backendUrl}/dashboard/auctions/${auctionId}#token=${env.system.app.jwt.sign(OWNER)}`);
    await textOf(page, '#auction-title', 'Test auction');
    await env.system.socket.stop();
    await env.system.stopBackend();
    await page.click('#analytics-toggle');
    await textOf(page, '#message', /cannot be reached/);
    await screenshot(page, 'dashboard-backend-down');
  });
});
