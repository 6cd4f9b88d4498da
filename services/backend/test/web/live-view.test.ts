import { describe, it } from 'vitest';
import { createAuction } from '../helper.js';
import { screenshot, textOf, useSystemAndBrowser } from './system.js';

describe('the live view in Chromium', () => {
  const env = useSystemAndBrowser(import.meta.filename);

  it("follows the spec's test plan: 1 watching, 2 with a second tab, 1 again when it closes", async () => {
    const auctionId = await createAuction(env.system.app);
    const context = await env.browser.newContext();
    const first = await context.newPage();
    await first.goto(`${env.system.backendUrl}/live/${auctionId}`);
    await textOf(first, '#count', '1 watching');
    await textOf(first, '#status', 'Live');

    const second = await context.newPage();
    await second.goto(`${env.system.backendUrl}/live/${auctionId}`);
    await textOf(second, '#count', '2 watching');
    await textOf(first, '#count', '2 watching');
    await screenshot(first, 'live-view-2-watching');

    await second.close();
    await textOf(first, '#count', '1 watching');
    await context.close();
  });

  it('recovers its count without a reload after the socket server is killed and started again', async () => {
    const auctionId = await createAuction(env.system.app);
    const page = await env.browser.newPage();
    await page.goto(`${env.system.backendUrl}/live/${auctionId}`);
    await textOf(page, '#count', '1 watching');

    await env.system.socket.stop('SIGKILL');
    await textOf(page, '#status', 'Reconnecting…');
    await screenshot(page, 'live-view-reconnecting');
    await env.system.socket.start();
    await textOf(page, '#status', 'Live', 20_000);
    await textOf(page, '#count', '1 watching');
    await page.close();
  });

  it('says so when the auction does not exist, instead of retrying forever', async () => {
    const page = await env.browser.newPage();
    await page.goto(`${env.system.backendUrl}/live/0123456789abcdef01234567`);
    await textOf(page, '#status', 'Not available: unknown auction');
    await page.close();
  });
});
