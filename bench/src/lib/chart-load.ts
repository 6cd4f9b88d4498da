/**
 * The auction dashboard loaded and drawn in real Chromium (Debian's, through playwright-core, as
 * the web tests run it), timed inside the page against its own navigation start.
 */
import type { Browser } from 'playwright-core';

/** One load, ms since the page's navigation started (performance.now() inside the page). */
export interface ChartLoad {
  /** The chart's canvas and the summary's peak both there, at the first animation frame that shows them. */
  readonly drawnMs: number;
  /** The click that opened Viewer Analytics (Playwright's, once the page's script had run); NaN for a load opened by its address. */
  readonly openedMs: number;
  /** The viewers API request: sent, and its reply's last byte in (resource timing). */
  readonly apiStartMs: number;
  readonly apiEndMs: number;
  /** The page's own performance marks, when it sets any. */
  readonly marks: Readonly<Record<string, number>>;
}

/** The little of the page's DOM these functions touch (bench compiles without the DOM library). */
interface PageGlobals {
  readonly document: {
    querySelector(selector: string): {
      width?: number;
      value?: string;
      textContent: string | null;
      addEventListener(type: string, listener: () => void, options: { capture: boolean; once: boolean }): void;
    } | null;
  };
  /** Set by noteOpening's listener. */
  analyticsOpenedAt?: number;
  readonly performance: {
    now(): number;
    getEntriesByType(type: string): { name: string; startTime: number; responseEnd?: number }[];
  };
}

/*
 * These run in the page (Playwright sends their source), so they use nothing from this module.
 * Functions, not strings: the page's Content-Security-Policy forbids evaluating strings.
 */

/** The moment the chart is on screen (its canvas drawn and the summary's peak filled in), else false; asked at every animation frame. */
function chartDrawn(): number | false {
  const { document, performance } = globalThis as unknown as PageGlobals;
  const canvas = document.querySelector('#chart canvas');
  const peak = document.querySelector('#stat-peak');
  return canvas !== null && (canvas.width ?? 0) > 0 && peak !== null && (peak.textContent ?? '') !== '' ? performance.now() : false;
}

/** Notes when the toggle is clicked, before the page's own listener runs. */
function noteOpening(): void {
  const page = globalThis as unknown as PageGlobals;
  page.document.querySelector('#analytics-toggle')?.addEventListener(
    'click',
    () => {
      page.analyticsOpenedAt = page.performance.now();
    },
    { capture: true, once: true },
  );
}

function loadTimings(): Omit<ChartLoad, 'drawnMs'> {
  const { performance, analyticsOpenedAt } = globalThis as unknown as PageGlobals;
  const api = performance.getEntriesByType('resource').find((entry) => entry.name.includes('/analytics/viewers'));
  const marks = Object.fromEntries(performance.getEntriesByType('mark').map((mark) => [mark.name, mark.startTime]));
  return { openedMs: analyticsOpenedAt ?? Number.NaN, apiStartMs: api?.startTime ?? Number.NaN, apiEndMs: api?.responseEnd ?? Number.NaN, marks };
}

function selectRange(timeRange: string): void {
  const { document } = globalThis as unknown as PageGlobals;
  const select = document.querySelector('#time-range');
  if (select === null) throw new Error('the page has no #time-range');
  select.value = timeRange;
}

/**
 * Opens `url` (the dashboard of one auction, its token in the fragment) in a fresh context (no
 * cache) and waits for the chart of `timeRange`. Opened by `link`: the address names the range
 * and the open section (?timeRange=…&analytics=open), as the overview's links do, so nothing
 * waits on Playwright. By `click`: the range is set on the select and the Viewer Analytics toggle
 * clicked as soon as the page's script has run (the page then asks for that range once).
 */
export async function loadDashboardChart(
  browser: Browser,
  { url, timeRange, timeoutMs, screenshot, opening }: { url: string; timeRange: string; timeoutMs: number; screenshot?: string; opening: 'link' | 'click' },
): Promise<ChartLoad> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    if (opening === 'link') {
      const linked = new URL(url);
      linked.search = new URLSearchParams({ timeRange, analytics: 'open' }).toString();
      await page.goto(linked.toString(), { waitUntil: 'commit', timeout: timeoutMs });
    } else {
      await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
      await page.evaluate(selectRange, timeRange);
      await page.evaluate(noteOpening);
      await page.click('#analytics-toggle', { timeout: timeoutMs });
    }
    const drawn = await page.waitForFunction(chartDrawn, undefined, { polling: 'raf', timeout: timeoutMs });
    // waitForFunction resolves only with a truthy value: the moment.
    const drawnMs = Number(await drawn.jsonValue());
    const timings = await page.evaluate(loadTimings);
    if (screenshot !== undefined) await page.screenshot({ path: screenshot, fullPage: true });
    return { drawnMs, ...timings };
  } finally {
    await context.close();
  }
}
