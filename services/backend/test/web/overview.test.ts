import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Auction, Snapshot, TokenClaims } from '@viewer-analytics/shared';
import { waitFor } from '@viewer-analytics/testkit';
import { ADMIN, bearer, OWNER, STRANGER, snapshot, windowStart } from '../helper.js';
import { ingest, screenshot, textOf, useSystemAndBrowser } from './system.js';

/** The browser's time zone here: 5 h 30 min from UTC (no daylight saving), so hours placed in UTC would show. */
const TIME_ZONE = 'Asia/Kolkata';
const OFFSET_MS = 330 * 60_000;
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

describe("the owner's overview in Chromium", () => {
  const env = useSystemAndBrowser(import.meta.filename);
  /** OWNER's auctions by title, created in this order, and the windows stored for each. */
  const ids = new Map<string, string>();
  const stored: Snapshot[] = [];

  async function createAuction(title: string, claims: TokenClaims): Promise<string> {
    const app = env.system.app;
    const created = await app.inject({ method: 'POST', url: '/api/v1/auctions', headers: bearer(app, claims), payload: { title } });
    expect(created.statusCode).toBe(201);
    const { id } = created.json<{ data: Auction }>().data;
    const enabled = await app.inject({
      method: 'PATCH',
      url: `/api/v1/auctions/${id}/settings`,
      headers: bearer(app, claims),
      payload: { enableViewerAnalytics: true },
    });
    expect(enabled.statusCode).toBe(200);
    ids.set(title, id);
    return id;
  }

  beforeAll(async () => {
    // Peaks 30, 50 and 10, created in this order; a stranger's auction beside them.
    for (const [title, peakViewers] of [['Alpha', 30], ['Bravo', 50], ['Charlie', 10]] as const) {
      const id = await createAuction(title, OWNER);
      const windows = Array.from({ length: 5 }, (_, i) =>
        snapshot({ timestamp: windowStart(10 - i), viewerCount: 5, avgViewers: peakViewers / 2 + i, peakViewers, minViewers: 1 }),
      );
      await ingest(env.system.app, id, windows);
      stored.push(...windows);
    }
    const strangers = await createAuction("Stranger's auction", STRANGER);
    await ingest(env.system.app, strangers, [snapshot({ timestamp: windowStart(3), viewerCount: 50, avgViewers: 60, peakViewers: 99, minViewers: 10 })]);
  });

  async function openOverview(claims: TokenClaims): Promise<Page> {
    const context = await env.browser.newContext({ timezoneId: TIME_ZONE, locale: 'en-GB', viewport: { width: 1200, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${env.system.backendUrl}/dashboard#token=${env.system.app.jwt.sign(claims)}`);
    return page;
  }

  const titles = (page: Page): Promise<string[]> => page.locator('#auctions tbody th a').allTextContents();
  const row = (page: Page, title: string) => page.locator(`#auctions tbody tr[data-auction-id="${ids.get(title) ?? ''}"]`);

  async function titlesRead(page: Page, expected: string[]): Promise<void> {
    await waitFor(async () => JSON.stringify(await titles(page)) === JSON.stringify(expected), 5_000, `the rows to read ${expected.join(', ')}`);
  }

  it("lists the caller's auctions, newest first, with their figures and nobody else's", async () => {
    const page = await openOverview(OWNER);
    await titlesRead(page, ['Charlie', 'Bravo', 'Alpha']);
    const cells = await row(page, 'Bravo').locator('td').allTextContents();
    // Live now, peak, average (25 + 0…4), viewer-minutes (Σ averages: 12 samples of 5 s each), uniques, analytics.
    expect(cells.slice(0, 6)).toEqual(['0', '50', '27', '135', '—', 'On']);
    expect(await page.locator('#owner-filter-label').isHidden()).toBe(true);
    expect(await page.locator('h1').textContent()).toBe('Your auctions');
    expect(await page.locator('#auctions th[data-key="createdAt"]').getAttribute('aria-sort')).toBe('descending');
    await screenshot(page, 'overview');
    await page.context().close();
  });

  it('sorts by the column whose heading is clicked, and says so in aria-sort', async () => {
    const page = await openOverview(OWNER);
    await titlesRead(page, ['Charlie', 'Bravo', 'Alpha']);
    const peak = page.locator('#auctions th[data-key="peakViewers"]');
    await peak.locator('button').click();
    await titlesRead(page, ['Bravo', 'Alpha', 'Charlie']);
    expect(await peak.getAttribute('aria-sort')).toBe('descending');
    expect(await page.locator('#auctions th[data-key="createdAt"]').getAttribute('aria-sort')).toBe('none');
    await peak.locator('button').click();
    await titlesRead(page, ['Charlie', 'Alpha', 'Bravo']);
    expect(await peak.getAttribute('aria-sort')).toBe('ascending');
    await page.locator('#auctions th[data-key="title"] button').click();
    await titlesRead(page, ['Alpha', 'Bravo', 'Charlie']);
    expect(await page.locator('#auctions th[data-key="title"]').getAttribute('aria-sort')).toBe('ascending');
    await page.context().close();
  });

  it("links each auction to its dashboard, its Viewer Analytics open over the overview's range", async () => {
    const page = await openOverview(OWNER);
    await row(page, 'Bravo').locator('a').click();
    await page.waitForURL(`${env.system.backendUrl}/dashboard/auctions/${ids.get('Bravo') ?? ''}?timeRange=30d&analytics=open`);
    await textOf(page, '#auction-title', 'Bravo'); // the token came along in the tab's session
    expect(await page.locator('#analytics-toggle').getAttribute('aria-expanded')).toBe('true');
    expect(await page.locator('#time-range').inputValue()).toBe('30d');
    await page.context().close();
  });

  it("toggles an auction's analytics through the API", async () => {
    const page = await openOverview(OWNER);
    const alpha = ids.get('Alpha') ?? '';
    const settings = async (): Promise<unknown> =>
      (await env.system.app.inject({ url: `/api/v1/auctions/${alpha}/settings`, headers: bearer(env.system.app, OWNER) })).json();
    const toggle = page.getByLabel('Viewer analytics for Alpha');
    expect(await toggle.isChecked()).toBe(true);
    await toggle.uncheck();
    await waitFor(async () => JSON.stringify(await settings()) === JSON.stringify({ success: true, data: { enableViewerAnalytics: false } }), 5_000, 'analytics to be off');
    await textOf(page, `#auctions tr[data-auction-id="${alpha}"] td:nth-of-type(6)`, 'Off');
    await toggle.check();
    await waitFor(async () => JSON.stringify(await settings()) === JSON.stringify({ success: true, data: { enableViewerAnalytics: true } }), 5_000, 'analytics to be on again');
    await page.context().close();
  });

  // Before the live count: the window its viewer is in gets stored at the next minute, into the current hour's cell.
  it('shows when people watch, by weekday and hour in the browser’s time zone', async () => {
    const page = await openOverview(OWNER);
    const heatmapRequest = page.waitForRequest((request) => request.url().includes('/api/v1/analytics/heatmap'));
    await page.reload();
    // Chromium's ICU calls it by its older name: either is the same zone.
    const asked = new URL((await heatmapRequest).url()).searchParams.get('timeZone') ?? '';
    expect(['Asia/Kolkata', 'Asia/Calcutta']).toContain(asked);
    await textOf(page, '#time-zone', asked);
    await waitFor(async () => (await page.locator('#heatmap tbody td').count()) === 168, 5_000, 'a 7 × 24 grid');

    // What the seeded windows imply: sample-weighted means per local weekday and hour.
    const expected = new Map<string, { sum: number; samples: number; windows: number }>();
    for (const window of stored) {
      const local = new Date(Date.parse(window.timestamp) + OFFSET_MS);
      const key = `${String((local.getUTCDay() + 6) % 7)}/${String(local.getUTCHours())}`;
      const cell = expected.get(key) ?? { sum: 0, samples: 0, windows: 0 };
      cell.sum += window.avgViewers * window.sampleCount;
      cell.samples += window.sampleCount;
      cell.windows += 1;
      expected.set(key, cell);
    }
    const number = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 1 });
    const filled = await Promise.all(
      (await page.locator('#heatmap tbody td:not(.empty)').all()).map(async (cell) => ({
        key: `${(await cell.getAttribute('data-day')) ?? ''}/${(await cell.getAttribute('data-hour')) ?? ''}`,
        label: await cell.getAttribute('aria-label'),
      })),
    );
    expect(filled.map(({ key }) => key).sort()).toEqual([...expected.keys()].sort());
    for (const { key, label } of filled) {
      const [day = 0, hour = 0] = key.split('/').map(Number);
      const cell = expected.get(key);
      expect(label).toBe(
        `${DAYS[day] ?? ''} ${String(hour).padStart(2, '0')}:00: ${number.format((cell?.sum ?? 0) / (cell?.samples ?? 1))} average viewers over ${String(cell?.windows)} windows`,
      );
    }
    expect(await page.locator('#heatmap tbody td.empty').first().getAttribute('aria-label')).toMatch(/: no viewer windows$/);
    await screenshot(page, 'overview-heatmap');
    await page.context().close();
  });

  it('shows how many watch each auction right now, from the socket server', async () => {
    const watcher = await env.browser.newPage();
    await watcher.goto(`${env.system.backendUrl}/live/${ids.get('Alpha') ?? ''}`);
    await textOf(watcher, '#count', '1 watching');
    const page = await openOverview(OWNER);
    await textOf(page, `#auctions tr[data-auction-id="${ids.get('Alpha') ?? ''}"] td[data-live]`, '1');
    await textOf(page, `#auctions tr[data-auction-id="${ids.get('Bravo') ?? ''}"] td[data-live]`, '0');
    await screenshot(page, 'overview-live');
    await watcher.close();
    // The column asks again every 5 s.
    await textOf(page, `#auctions tr[data-auction-id="${ids.get('Alpha') ?? ''}"] td[data-live]`, '0', 15_000);
    await page.context().close();
  });

  it("gives an admin every owner's auctions and a filter by owner", async () => {
    const page = await openOverview(ADMIN);
    await titlesRead(page, ["Stranger's auction", 'Charlie', 'Bravo', 'Alpha']);
    expect(await page.locator('#owner-filter-label').isVisible()).toBe(true);
    expect(await page.locator('h1').textContent()).toBe('All auctions');
    await page.selectOption('#owner-filter', OWNER.sub);
    await titlesRead(page, ['Charlie', 'Bravo', 'Alpha']);
    await page.selectOption('#owner-filter', STRANGER.sub);
    await titlesRead(page, ["Stranger's auction"]);
    await screenshot(page, 'overview-admin');
    await page.context().close();
  });

  it('creates an auction, which appears as a row of its own', async () => {
    const page = await openOverview(OWNER);
    await titlesRead(page, ['Charlie', 'Bravo', 'Alpha']);
    await page.fill('#new-title', 'Delta');
    await page.click('#create-auction button[type="submit"]');
    await titlesRead(page, ['Delta', 'Charlie', 'Bravo', 'Alpha']);
    expect(await page.locator('#new-title').inputValue()).toBe('');
    const id = (await page.locator('#auctions tbody tr').first().getAttribute('data-auction-id')) ?? '';
    const created = await env.system.app.inject({ url: `/api/v1/auctions/${id}`, headers: bearer(env.system.app, OWNER) });
    expect(created.json()).toMatchObject({ data: { title: 'Delta', ownerId: OWNER.sub, enableViewerAnalytics: false } });
    await textOf(page, `#auctions tr[data-auction-id="${id}"] td:nth-of-type(6)`, 'Off');
    await page.context().close();
  });
});
