import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { TokenClaims } from '@viewer-analytics/shared';
import { waitFor } from '@viewer-analytics/testkit';
import { ADMIN, bearer, createAuction, internalKey, OWNER, STRANGER, snapshot, windowStart } from '../helper.js';
import { screenshot, textOf, useSystemAndBrowser } from './system.js';

const MINUTES = 25;

describe('the Viewer Analytics dashboard in Chromium', () => {
  const env = useSystemAndBrowser(import.meta.filename);

  /** Opens the dashboard with a token in the fragment; counts the analytics requests it makes. */
  async function openDashboard(auctionId: string, claims?: TokenClaims): Promise<{ page: Page; analyticsRequests: () => number }> {
    const page = await env.browser.newPage();
    let requests = 0;
    page.on('request', (request) => {
      if (request.url().includes('/analytics/viewers')) requests++;
    });
    const fragment = claims === undefined ? '' : `#token=${env.system.app.jwt.sign(claims)}`;
    await page.goto(`${env.system.backendUrl}/dashboard/auctions/${auctionId}${fragment}`);
    return { page, analyticsRequests: () => requests };
  }

  it('fetches nothing until expanded, then shows the figures the API data implies', async () => {
    const auctionId = await createAuction(env.system.app);
    const snapshots = Array.from({ length: MINUTES }, (_, i) =>
      snapshot({
        timestamp: windowStart(MINUTES - i),
        viewerCount: 100 + i,
        avgViewers: 90 + i,
        peakViewers: 120 + 2 * i,
        minViewers: 80 + i,
      }),
    );
    const ingest = await env.system.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/snapshots',
      headers: internalKey,
      payload: { snapshots: snapshots.map((s) => ({ auctionId, ...s })) },
    });
    expect(ingest.json()).toMatchObject({ data: { stored: MINUTES } });

    const { page, analyticsRequests } = await openDashboard(auctionId, OWNER);
    await textOf(page, '#auction-title', 'Test auction');
    expect(page.url()).not.toContain('token='); // taken out of the address bar
    expect(analyticsRequests()).toBe(0);

    await page.click('#analytics-toggle');
    await textOf(page, '#stat-peak', String(120 + 2 * (MINUTES - 1)));
    await textOf(page, '#stat-average', (90 + (MINUTES - 1) / 2).toFixed(1));
    await textOf(page, '#stat-minimum', '80');
    await textOf(page, '#stat-duration', `${String(MINUTES)} min`);
    expect(await page.locator('#trend li').count()).toBe(20);
    expect(await page.locator('#trend li').first().textContent()).toContain(`peak ${String(120 + 2 * (MINUTES - 1))}`);
    expect(await page.locator('#chart polyline').count()).toBe(3);
    expect(await page.locator('#enable-analytics').isChecked()).toBe(true);
    expect(analyticsRequests()).toBe(1);
    await screenshot(page, 'dashboard-expanded');

    await page.click('#refresh');
    await waitFor(() => analyticsRequests() === 2, 5_000, 'the refresh to fetch again');
    await page.selectOption('#time-range', '1h');
    await waitFor(() => analyticsRequests() === 3, 5_000, 'the new time range to be fetched');
    await textOf(page, '#stat-peak', String(120 + 2 * (MINUTES - 1)));
    await page.close();
  });

  it('shows the empty state for an auction with analytics off, and the toggle turns it on', async () => {
    const auctionId = await createAuction(env.system.app, { enableViewerAnalytics: false });
    const { page } = await openDashboard(auctionId, ADMIN);
    await page.click('#analytics-toggle');
    await textOf(page, '#message', /disabled for this auction/);
    expect(await page.locator('#enable-analytics').isChecked()).toBe(false);
    await screenshot(page, 'dashboard-disabled');

    await page.check('#enable-analytics');
    await textOf(page, '#message', /No snapshots in this time range yet/);
    const settings = await env.system.app.inject({
      url: `/api/v1/auctions/${auctionId}/settings`,
      headers: bearer(env.system.app, OWNER),
    });
    expect(settings.json()).toEqual({ success: true, data: { enableViewerAnalytics: true } });
    await page.close();
  });

  it('tells people plainly when they are not signed in or not allowed', async () => {
    const auctionId = await createAuction(env.system.app);
    const anonymous = await openDashboard(auctionId);
    await anonymous.page.click('#analytics-toggle');
    await textOf(anonymous.page, '#message', /not signed in/);
    await screenshot(anonymous.page, 'dashboard-401');
    await anonymous.page.close();

    const stranger = await openDashboard(auctionId, STRANGER);
    await stranger.page.click('#analytics-toggle');
    await textOf(stranger.page, '#message', /not allowed/);
    expect(await stranger.page.locator('#setting').isHidden()).toBe(true);
    await stranger.page.close();
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
