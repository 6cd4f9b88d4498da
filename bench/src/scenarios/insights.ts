/**
 * Scenario 8 (`--only=insights`): an owner's overview, the "when do people watch" heatmap and one
 * auction's 30-day chart against a realistic history, through our backend's real routes on the
 * benchmark's database. The history goes in through the batch ingest route (internal API key),
 * so whatever the backend maintains at ingest is built as in production: one owner with 500
 * auctions of 3 hours (90,000 snapshots), another owner's 100 auctions of 3 hours as noise
 * (18,000) and one of its auctions running for 30 days of minutes (43,200). Once the backend's
 * background work after the ingest is over: the database asked directly what the reads cost it,
 * then, on a backend started afresh, each route's first request (cold) and up to 20 more one at a
 * time, and the chart page loaded and drawn in Chromium.
 */
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import { ObjectId } from 'mongodb';
import { Pool } from 'undici';
import { ADMIN_ROLE, BatchSnapshotSchema, snapshotKey, TIME_RANGE_MS, VisitorSketch } from '@viewer-analytics/shared';
import {
  planAuctions,
  planChannel,
  visitorsOf,
  windowOf,
  windowsInTimeOrder,
  type AuctionPlan,
  type PlannedAuction,
} from '../lib/audience.js';
import { launchChromium } from '@viewer-analytics/testkit/chromium';
import { loadDashboardChart, type ChartLoad } from '../lib/chart-load.js';
import { waitForQuiet, type Quiet } from '../lib/proc.js';
import { formatInt } from '../lib/progress.js';
import { responseTimesByUrl } from '../lib/request-log.js';
import { distribution, type Distribution } from '../lib/stats.js';
import { startOurBackend, type Context } from './context.js';

const DATABASE = 'bench_insights';
/** The owner whose overview and heatmap are measured. */
const OWNER = 'bench-owner';
/** Another seller: noise in the collection, and the 30-day auction's owner. */
const OTHER = 'bench-other';
const OWNER_AUCTIONS = 500;
const OTHER_AUCTIONS = 100;
const AUCTION_WINDOWS = 180;
const CHANNEL_WINDOWS = 43_200;
const THIRTY_DAYS = TIME_RANGE_MS['30d'];
const TIME_ZONE = 'Europe/Berlin';
/** Every figure this scenario measures must come in under it. */
export const INSIGHTS_BAR_MS = 1_000;
/** A batch is cut at this many snapshots or this many bytes of JSON, under the backend's 2 MiB body limit. */
const BATCH_ITEMS = 1_000;
const BATCH_BYTES = 1_500_000;
/** Batch requests in flight while seeding: the socket server's FLUSH_CONCURRENCY default. */
const INGEST_CONCURRENCY = 2;
/** The longest the backend's background work after the ingest is waited for. */
const SETTLE_TIMEOUT_MS = 600_000;
/** Snapshots looked up by key at once, to show what a lookup costs. */
const LOOKUPS = 1_800;
/** Auctions created (and switched on) in parallel through the dashboard API. */
const CREATE_CONCURRENCY = 4;

export interface InsightsSeeding {
  readonly auctions: number;
  readonly createAuctionsMs: number;
  readonly snapshots: number;
  /** Whether the snapshots carried uniqueViewers and visitorSketch (the ingest schema takes them). */
  readonly withVisitors: boolean;
  /** Time to compute the snapshots (sketches included) and serialise the request bodies. */
  readonly generateMs: number;
  readonly batches: number;
  readonly meanItemBytes: number;
  readonly ingestMs: number;
  readonly snapshotsPerSecond: number;
  readonly batchMs: Distribution;
  /** Snapshots the replies said were stored (each batch is checked to store all of its items). */
  readonly stored: number;
  /** The backend's and the database's work after the last batch was answered, until both were idle. */
  readonly settleMs: number;
  readonly settleCpuSeconds: number;
  readonly settledQuiet: boolean;
}

export interface RouteTiming {
  readonly name: string;
  readonly path: string;
  /** Why the first request failed (404: not there yet; a reply that disagrees with the seeding; the connection dropped), with coldMs the time until then. */
  readonly coldFailure: string | undefined;
  readonly coldMs: number;
  /** Why the later requests stopped short, if they did. */
  readonly warmFailure: string | undefined;
  /** The requests after the cold one, one at a time. */
  readonly warmMs: Distribution | undefined;
  /** Fastify's responseTime of the same requests (its log), so the rest is the HTTP transport. */
  readonly serverColdMs: number | undefined;
  readonly serverWarmMs: Distribution | undefined;
  readonly replyBytes: number;
  /** What the reply held (checked against what was seeded). */
  readonly holds: string;
}

export interface ChartTiming {
  readonly path: string;
  /** Navigation start → chart and summary on screen, opened by its address (?timeRange=30d&analytics=open), each load in a fresh browser context. */
  readonly drawnMs: Distribution;
  readonly firstDrawnMs: number;
  /** The click opening Viewer Analytics → chart and summary on screen: what a viewer of the page waits for once they asked. */
  readonly openedToDrawnMs: Distribution;
  /** Navigation start → that click, in the loads opened by a click (HTML, scripts, uPlot, and Playwright's round trips to click). */
  readonly openedMs: Distribution;
  /** Navigation start → the viewers request sent (HTML, scripts), in the loads opened by the address. */
  readonly apiStartMs: Distribution;
  /** The viewers request, sent → its reply's last byte. */
  readonly apiMs: Distribution;
  /** The reply's last byte → drawn (JSON, summary, uPlot). */
  readonly afterApiMs: Distribution;
  readonly marks: Readonly<Record<string, number>>;
  readonly screenshot: string;
  /** Loads that did not draw the chart in time, and why. */
  readonly failures: readonly string[];
}

export interface DatabaseTiming {
  readonly label: string;
  readonly firstMs: number;
  readonly secondMs: number;
  readonly documents: number;
  readonly error: string | undefined;
}

export interface InsightsResult {
  readonly owner: { readonly auctions: number; readonly snapshots: number };
  readonly other: { readonly auctions: number; readonly snapshots: number };
  readonly channel: { readonly auctionId: string; readonly snapshots: number };
  readonly seeding: InsightsSeeding;
  readonly routes: readonly RouteTiming[];
  readonly chart: ChartTiming;
  readonly database: readonly DatabaseTiming[];
  /** The fresh backend's start: from its spawn until /ready answered 200 (its hour marks and figures loaded). */
  readonly readyAfterMs: number;
}

type Json = Record<string, unknown>;

const ms = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '–' : `${formatInt(value)} ms`);

interface Tokens {
  readonly admin: string;
  readonly owner: string;
  readonly other: string;
}

/** The longest a chart load may take before it counts as not drawn. */
const CHART_TIMEOUT_MS = 120_000;

/** Runs `work` over `items` with `concurrency` in flight, in order of start. */
async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}

async function request(pool: Pool, method: 'GET' | 'POST' | 'PATCH', path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  const reply = await pool.request({ method, path, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, body });
  return { status: reply.statusCode, text: await reply.body.text() };
}

/** Creates the planned auctions through the dashboard API (an admin naming each owner) and switches analytics on. */
async function createAuctions(pool: Pool, admin: string, plans: readonly AuctionPlan[]): Promise<PlannedAuction[]> {
  const created: PlannedAuction[] = new Array<PlannedAuction>(plans.length);
  const auth = { authorization: `Bearer ${admin}` };
  await inParallel(plans, CREATE_CONCURRENCY, async (plan, index) => {
    const made = await request(pool, 'POST', '/api/v1/auctions', auth, JSON.stringify({ title: `${plan.ownerId} auction ${String(index)}`, ownerId: plan.ownerId }));
    if (made.status !== 201) throw new Error(`insights: creating an auction answered ${String(made.status)} ${made.text}`);
    const id = ((JSON.parse(made.text) as { data: { id: string } }).data).id;
    const on = await request(pool, 'PATCH', `/api/v1/auctions/${id}/settings`, auth, JSON.stringify({ enableViewerAnalytics: true }));
    if (on.status !== 200) throw new Error(`insights: switching analytics on answered ${String(on.status)} ${on.text}`);
    created[index] = { ...plan, id };
  });
  return created;
}

/** Request bodies of every window of `auctions`, oldest first, cut at BATCH_ITEMS or BATCH_BYTES. */
function batchBodies(auctions: readonly PlannedAuction[], withVisitors: boolean): { bodies: string[]; itemBytes: number } {
  const order = windowsInTimeOrder(auctions);
  const sketch = new VisitorSketch();
  const bodies: string[] = [];
  let items: string[] = [];
  let bytes = 0;
  let itemBytes = 0;
  const cut = (): void => {
    bodies.push(`{"snapshots":[${items.join(',')}]}`);
    items = [];
    bytes = 0;
  };
  for (let k = 0; k < order.length; k += 2) {
    const auction = auctions[order[k] ?? 0] as PlannedAuction;
    const i = order[k + 1] ?? 0;
    const window = windowOf(auction, i);
    let item: string;
    if (withVisitors) {
      sketch.clear();
      for (const hash of visitorsOf(auction, i, window)) sketch.add(hash);
      item = JSON.stringify({ ...window, uniqueViewers: sketch.estimate(), visitorSketch: Buffer.from(sketch.toBytes()).toString('base64') });
    } else {
      item = JSON.stringify(window);
    }
    if (items.length === BATCH_ITEMS || bytes + item.length > BATCH_BYTES) cut();
    items.push(item);
    bytes += item.length + 1;
    itemBytes += item.length;
  }
  if (items.length > 0) cut();
  return { bodies, itemBytes: itemBytes / (order.length / 2) };
}

interface BatchReply {
  readonly data?: { stored?: number; duplicates?: number; disabled?: number; unknown?: number; invalid?: unknown[] };
}

async function seed(
  ctx: Context,
  pool: Pool,
  tokens: Tokens,
  now: number,
): Promise<{ seeding: Omit<InsightsSeeding, 'settleMs' | 'settleCpuSeconds' | 'settledQuiet'>; auctions: PlannedAuction[] }> {
  const { progress } = ctx;
  const plans = [
    ...planAuctions({ ownerId: OWNER, count: OWNER_AUCTIONS, windows: AUCTION_WINDOWS, now, seed: 13 }),
    ...planAuctions({ ownerId: OTHER, count: OTHER_AUCTIONS, windows: AUCTION_WINDOWS, now, seed: 31 }),
    planChannel(OTHER, CHANNEL_WINDOWS, now, 1_313),
  ];
  progress.step(`insights: creating ${formatInt(plans.length)} auctions through POST /api/v1/auctions and PATCH …/settings`);
  let started = performance.now();
  const auctions = await createAuctions(pool, tokens.admin, plans);
  const createAuctionsMs = performance.now() - started;

  const withVisitors = 'visitorSketch' in BatchSnapshotSchema.properties;
  started = performance.now();
  const { bodies, itemBytes } = batchBodies(auctions, withVisitors);
  const generateMs = performance.now() - started;
  const snapshots = auctions.reduce((total, auction) => total + auction.windows, 0);
  progress.step(
    `insights: ${formatInt(snapshots)} snapshots ${withVisitors ? 'with' : 'without'} visitor sketches in ${formatInt(bodies.length)} batches ` +
      `(computed in ${(generateMs / 1000).toFixed(1)} s, ${itemBytes.toFixed(0)} B of JSON each); ingesting, ${String(INGEST_CONCURRENCY)} in flight`,
  );
  const batchMs: number[] = [];
  let stored = 0;
  started = performance.now();
  const stop = progress.every(15_000, () => `insights: ${formatInt(stored)} of ${formatInt(snapshots)} snapshots stored`);
  try {
    await inParallel(bodies, INGEST_CONCURRENCY, async (body) => {
      const sent = performance.now();
      const reply = await request(pool, 'POST', '/api/v1/analytics/snapshots', { 'x-internal-api-key': ctx.internalKey }, body);
      batchMs.push(performance.now() - sent);
      const outcome = (JSON.parse(reply.text) as BatchReply).data;
      const items = (body.match(/"auctionId"/g) ?? []).length;
      if (reply.status !== 200 || outcome?.stored !== items) {
        throw new Error(`insights: a batch of ${String(items)} answered ${String(reply.status)} ${reply.text.slice(0, 600)}`);
      }
      stored += items;
    });
  } finally {
    stop();
  }
  const ingestMs = performance.now() - started;
  const seeding: Omit<InsightsSeeding, 'settleMs' | 'settleCpuSeconds' | 'settledQuiet'> = {
    auctions: auctions.length,
    createAuctionsMs,
    snapshots,
    withVisitors,
    generateMs,
    batches: bodies.length,
    meanItemBytes: itemBytes,
    ingestMs,
    snapshotsPerSecond: (snapshots / ingestMs) * 1000,
    batchMs: distribution(Float64Array.from(batchMs)),
    stored,
  };
  progress.step(
    `insights: seeded in ${(ingestMs / 1000).toFixed(1)} s (${formatInt(seeding.snapshotsPerSecond)} snapshots/s; batch p50 ` +
      `${seeding.batchMs.p50.toFixed(0)} ms, p99 ${seeding.batchMs.p99.toFixed(0)} ms); auctions created in ${(createAuctionsMs / 1000).toFixed(1)} s`,
  );
  return { seeding, auctions };
}

interface RouteProbe {
  readonly name: string;
  readonly path: string;
  readonly token: string;
  /** Checks a 200 reply against what was seeded; says briefly what it held. */
  readonly check: (reply: Json) => string;
}

/** The route's first request, then up to `requests` more one at a time while `budgetMs` lasts. */
async function timeRoute(ctx: Context, pool: Pool, probe: RouteProbe): Promise<Omit<RouteTiming, 'serverColdMs' | 'serverWarmMs'>> {
  const headers = { authorization: `Bearer ${probe.token}` };
  const ask = async (): Promise<{ ms: number; status: number; text: string }> => {
    const started = performance.now();
    try {
      const reply = await request(pool, 'GET', probe.path, headers);
      return { ms: performance.now() - started, ...reply };
    } catch (error) {
      const waited = performance.now() - started;
      throw new Error(`no reply after ${(waited / 1000).toFixed(1)} s: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  };
  /** One request, checked: its time and what it held, or why it failed. */
  const attempt = async (): Promise<{ ms: number; bytes: number; holds: string } | { ms: number; failure: string }> => {
    const started = performance.now();
    try {
      const reply = await ask();
      if (reply.status !== 200) throw new Error(`answered ${String(reply.status)} ${reply.text.slice(0, 300)}`);
      return { ms: reply.ms, bytes: reply.text.length, holds: probe.check(JSON.parse(reply.text) as Json) };
    } catch (error) {
      return { ms: performance.now() - started, failure: error instanceof Error ? error.message : String(error) };
    }
  };
  const cold = await attempt();
  // Asked again even when the first failed: a first read may build what the later ones use.
  const warm: number[] = [];
  let warmFailure: string | undefined;
  let holds = 'holds' in cold ? cold.holds : '';
  let replyBytes = 'bytes' in cold ? cold.bytes : 0;
  const deadline = performance.now() + ctx.config.insightsRouteBudgetMs;
  while (warm.length < ctx.config.insightsRequests && performance.now() < deadline) {
    const again = await attempt();
    if ('failure' in again) {
      warmFailure = again.failure;
      break;
    }
    warm.push(again.ms);
    holds ||= again.holds;
    replyBytes ||= again.bytes;
  }
  const warmMs = warm.length === 0 ? undefined : distribution(Float64Array.from(warm));
  const coldFailure = 'failure' in cold ? cold.failure : undefined;
  ctx.progress.step(
    `insights: ${probe.name}: cold ${cold.ms.toFixed(0)} ms${coldFailure === undefined ? '' : ` (${coldFailure})`}` +
      (warmMs === undefined ? '' : `, then ${String(warmMs.n)}: p50 ${warmMs.p50.toFixed(0)} ms, p99 ${warmMs.p99.toFixed(0)} ms`) +
      (warmFailure === undefined ? '' : `; then ${warmFailure}`) +
      ` (${formatInt(replyBytes)} B; ${holds})`,
  );
  return { name: probe.name, path: probe.path, coldFailure, coldMs: cold.ms, warmFailure, warmMs, replyBytes, holds };
}

const dataOf = (reply: Json): Json => (reply['data'] ?? {}) as Json;
const sumOf = (rows: readonly Json[], field: string): number => rows.reduce((total, row) => total + Number(row[field] ?? 0), 0);

function probes(tokens: Tokens, channel: PlannedAuction, owned: number, ownedWindows: number, plannedAt: number): RouteProbe[] {
  return [
    {
      name: 'overview',
      path: '/api/v1/analytics/overview?timeRange=30d',
      token: tokens.owner,
      check: (reply) => {
        const auctions = (dataOf(reply)['auctions'] ?? []) as Json[];
        const snapshots = sumOf(auctions, 'snapshots');
        if (auctions.length !== owned || snapshots !== ownedWindows) {
          throw new Error(`the overview listed ${String(auctions.length)} auctions holding ${String(snapshots)} snapshots, seeded ${String(owned)} and ${String(ownedWindows)}`);
        }
        return `${formatInt(auctions.length)} auctions, ${formatInt(snapshots)} snapshots`;
      },
    },
    {
      name: 'heatmap',
      path: `/api/v1/analytics/heatmap?timeZone=${encodeURIComponent(TIME_ZONE)}&timeRange=30d`,
      token: tokens.owner,
      check: (reply) => {
        const cells = (dataOf(reply)['cells'] ?? []) as Json[];
        const windows = sumOf(cells, 'windows');
        if (cells.length !== 168 || windows !== ownedWindows) {
          throw new Error(`the heatmap had ${String(cells.length)} cells over ${String(windows)} windows, expected 168 over ${String(ownedWindows)}`);
        }
        return `168 cells, ${formatInt(windows)} windows`;
      },
    },
    {
      name: '30-day viewers of one auction',
      path: `/api/v1/auctions/${channel.id}/analytics/viewers?timeRange=30d`,
      token: tokens.other,
      check: (reply) => {
        const points = (dataOf(reply)['snapshots'] ?? []) as Json[];
        const summary = dataOf(reply)['summary'] as Json | undefined;
        // The summary counts the range's windows; without one, every point says how many samples it merged (12 per window).
        const windows = summary === undefined ? sumOf(points, 'sampleCount') / 12 : Number(summary['snapshots']);
        // The oldest windows leave the 30-day range as the clock moves on from the plan's.
        const fewest = CHANNEL_WINDOWS - Math.ceil((Date.now() - plannedAt) / 60_000) - 1;
        if (windows < fewest || windows > CHANNEL_WINDOWS) {
          throw new Error(`the 30-day read held ${String(windows)} windows, expected ${String(fewest)} to ${String(CHANNEL_WINDOWS)}`);
        }
        const uniques = summary?.['uniqueViewers'];
        return `${formatInt(points.length)} points over ${formatInt(windows)} windows${typeof uniques === 'number' ? `, ${formatInt(uniques)} unique viewers` : ''}`;
      },
    },
  ];
}

/** The 30-day chart of `channel` loaded and drawn in Chromium, `loads` times, each in a fresh context. */
async function timeChart(ctx: Context, origin: string, token: string, channel: PlannedAuction): Promise<ChartTiming> {
  const path = `/dashboard/auctions/${channel.id}`;
  const screenshot = join(ctx.runDir, 'insights-chart.png');
  const browser = await launchChromium();
  const loads: ChartLoad[] = [];
  const clicked: ChartLoad[] = [];
  const failures: string[] = [];
  try {
    // A user's browser is running already: its first navigation (network service, GPU process) is not the page's time.
    const warmUp = await browser.newContext();
    await (await warmUp.newPage()).goto(`${origin}/health`);
    await warmUp.close();
    // Opened by the address (navigation → drawn) and by the click (click → drawn) in turn, so both meet the same conditions.
    loading: for (let i = 0; i < ctx.config.insightsChartLoads; i++) {
      for (const [opening, into] of [['link', loads], ['click', clicked]] as const) {
        const last = opening === 'link' && i === ctx.config.insightsChartLoads - 1;
        try {
          into.push(
            await loadDashboardChart(browser, { url: `${origin}${path}#token=${token}`, timeRange: '30d', timeoutMs: CHART_TIMEOUT_MS, opening, ...(last ? { screenshot } : {}) }),
          );
        } catch (error) {
          failures.push(`${opening}: ${(error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''}`);
          // A chart that never draws would only fail again.
          break loading;
        }
      }
    }
  } finally {
    await browser.close();
  }
  const of = (pick: (load: ChartLoad) => number, from = loads): Distribution => distribution(Float64Array.from(from.map(pick)));
  const chart: ChartTiming = {
    path,
    drawnMs: of((load) => load.drawnMs),
    firstDrawnMs: loads[0]?.drawnMs ?? Number.NaN,
    openedToDrawnMs: of((load) => load.drawnMs - load.openedMs, clicked),
    openedMs: of((load) => load.openedMs, clicked),
    apiStartMs: of((load) => load.apiStartMs),
    apiMs: of((load) => load.apiEndMs - load.apiStartMs),
    afterApiMs: of((load) => load.drawnMs - load.apiEndMs),
    marks: loads.at(-1)?.marks ?? {},
    screenshot,
    failures,
  };
  if (failures.length > 0) ctx.progress.step(`insights: chart of 30 days in Chromium: ${failures.join('; ')}`);
  ctx.progress.step(
    `insights: chart of 30 days in Chromium: drawn p50 ${chart.drawnMs.p50.toFixed(0)} ms after navigation (${String(chart.drawnMs.n)} loads, first ` +
      `${chart.firstDrawnMs.toFixed(0)} ms): request sent at ${chart.apiStartMs.p50.toFixed(0)} ms, answered in ${chart.apiMs.p50.toFixed(0)} ms, ` +
      `drawn ${chart.afterApiMs.p50.toFixed(0)} ms later; opened by a click: ${chart.openedToDrawnMs.p50.toFixed(0)} ms from the click`,
  );
  return chart;
}

/** Asked again only when the first answer took less: a scan of the whole collection is not worth two. */
const ASK_AGAIN_UNDER_MS = 5_000;

/** Runs `query` against the database directly: the first time, and a second (warm) one when it was quick. */
async function timeQuery(label: string, query: () => Promise<number>): Promise<DatabaseTiming> {
  try {
    let started = performance.now();
    const documents = await query();
    const firstMs = performance.now() - started;
    if (firstMs >= ASK_AGAIN_UNDER_MS) return { label, firstMs, secondMs: Number.NaN, documents, error: undefined };
    started = performance.now();
    await query();
    return { label, firstMs, secondMs: performance.now() - started, documents, error: undefined };
  } catch (error) {
    return { label, firstMs: Number.NaN, secondMs: Number.NaN, documents: 0, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * What the database costs, asked directly with the mongodb driver on a quiet database (no backend
 * running): a scan of the snapshots, the one-auction range the viewers route reads, lookups by
 * key, a grouping the database might do for the overview, and every other collection the backend
 * keeps (whatever it maintains at ingest) read whole.
 */
async function databaseTimings(ctx: Context, owned: readonly PlannedAuction[], channel: PlannedAuction): Promise<DatabaseTiming[]> {
  const db = ctx.mongo.db(DATABASE);
  const snapshots = db.collection<{ _id: string }>('vieweranalytics');
  const until = new Date();
  const since = new Date(until.getTime() - THIRTY_DAYS);
  const ownedIds = owned.map((auction) => new ObjectId(auction.id));
  const series = { _id: 0, timestamp: 1, viewerCount: 1, avgViewers: 1, peakViewers: 1, minViewers: 1, sampleCount: 1 };
  const timings: DatabaseTiming[] = [];
  const add = async (label: string, query: () => Promise<number>): Promise<void> => {
    const timing = await timeQuery(label, query);
    timings.push(timing);
    ctx.progress.step(
      `insights: database: ${label}: ` +
        (timing.error === undefined ? `${ms(timing.firstMs)}, again ${ms(timing.secondMs)}; ${formatInt(timing.documents)} documents` : timing.error),
    );
  };
  await add('every snapshot counted: countDocuments({}) (a scan)', () => snapshots.countDocuments({}));
  await add('one auction, 30 days: find({auction, timestamp range}), the series fields', async () =>
    (await snapshots.find({ auction: new ObjectId(channel.id), timestamp: { $gte: since, $lte: until } }, { projection: series, sort: { timestamp: 1 } }).toArray()).length,
  );
  await add('the same with uniqueViewers and the visitor sketches', async () =>
    (
      await snapshots
        .find({ auction: new ObjectId(channel.id), timestamp: { $gte: since, $lte: until } }, { projection: { ...series, uniqueViewers: 1, visitors: 1 }, sort: { timestamp: 1 } })
        .toArray()
    ).length,
  );
  const keys = owned.slice(0, LOOKUPS / AUCTION_WINDOWS).flatMap((auction) => Array.from({ length: AUCTION_WINDOWS }, (_, i) => snapshotKey(auction.id, auction.start + i * 60_000)));
  await add(`${formatInt(keys.length)} snapshots looked up by _id, all sent at once`, async () =>
    (await Promise.all(keys.map((key) => snapshots.findOne({ _id: key }, { projection: series })))).filter((found) => found !== null).length,
  );
  await add(`the owner's ${String(ownedIds.length)} auctions grouped in the database: aggregate($match, $group with $sum and $max)`, async () =>
    (
      await snapshots
        .aggregate([
          { $match: { auction: { $in: ownedIds }, timestamp: { $gte: since, $lte: until } } },
          { $group: { _id: '$auction', snapshots: { $sum: 1 }, peakViewers: { $max: '$peakViewers' }, samples: { $sum: '$sampleCount' } } },
        ])
        .toArray()
    ).length,
  );
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (name === 'vieweranalytics') continue;
    await add(`\`${name}\` read whole: find({})`, async () => (await db.collection(name).find({}).toArray()).length);
  }
  return timings;
}

export async function runInsightsSuite(ctx: Context): Promise<InsightsResult> {
  const { progress } = ctx;
  await ctx.mongo.db(DATABASE).dropDatabase();
  const sign = createSigner({ key: ctx.jwtSecret, expiresIn: 3_600_000 });
  const tokens: Tokens = {
    admin: sign({ sub: 'bench-admin', role: ADMIN_ROLE }),
    owner: sign({ sub: OWNER, role: 'user' }),
    other: sign({ sub: OTHER, role: 'user' }),
  };
  // Creating 701 auctions is far beyond a person's request budget.
  const backendEnv = { RATE_LIMIT_MAX: '1000000' };
  const now = Date.now();
  let backend = await startOurBackend(ctx, DATABASE, 'ours-backend-insights-seed', backendEnv);
  let pool = new Pool(backend.origin, { connections: INGEST_CONCURRENCY });
  let seeded: Awaited<ReturnType<typeof seed>>;
  let settled: Quiet;
  try {
    seeded = await seed(ctx, pool, tokens, now);
    // What the backend does after the ingest in the background (whatever it maintains) is part of
    // the production state measured: wait until it and the database are idle.
    progress.step('insights: waiting for the backend and the database to go quiet after the ingest');
    settled = await waitForQuiet([backend.pid, ...ctx.databasePids], { timeoutMs: SETTLE_TIMEOUT_MS });
    progress.step(
      `insights: ${settled.quiet ? 'quiet' : 'still busy'} after ${(settled.busyMs / 1000).toFixed(1)} s of background work ` +
        `(${settled.cpuSeconds.toFixed(1)} CPU-seconds, backend and database)`,
    );
  } finally {
    await pool.close();
    await backend.stop();
  }
  const { auctions, seeding } = seeded;
  const owned = auctions.filter((auction) => auction.ownerId === OWNER);
  const channel = auctions.find((auction) => auction.shape === 'channel') as PlannedAuction;

  // Before any route is asked: FerretDB finishes a query whose client went away, so a read the
  // backend gave up on would still be running under these.
  progress.step('insights: the database asked directly (no backend running)');
  const database = await databaseTimings(ctx, owned, channel);

  // A backend started afresh, so the first request of each route is a cold one; its log at info
  // level gives Fastify's own time for every request.
  const name = 'ours-backend-insights';
  backend = await startOurBackend(ctx, DATABASE, name, { ...backendEnv, LOG_LEVEL: 'info' });
  const readyAfterMs = backend.startedInMs;
  progress.step(`insights: a fresh backend answered /ready after ${(readyAfterMs / 1000).toFixed(1)} s`);
  pool = new Pool(backend.origin, { connections: 1 });
  const measured: Omit<RouteTiming, 'serverColdMs' | 'serverWarmMs'>[] = [];
  let chart: ChartTiming;
  try {
    for (const probe of probes(tokens, channel, owned.length, owned.length * AUCTION_WINDOWS, now)) measured.push(await timeRoute(ctx, pool, probe));
    chart = await timeChart(ctx, backend.origin, tokens.other, channel);
  } finally {
    await pool.close();
    await backend.stop();
  }
  const serverTimes = responseTimesByUrl(join(ctx.runDir, `${name}.log`));
  const routes = measured.map((route): RouteTiming => {
    // The chart's own requests of the same URL come after these; a warm request that failed ended the series.
    const [cold, ...warm] = (serverTimes.get(route.path) ?? []).slice(0, 1 + (route.warmMs?.n ?? 0));
    const completed = warm.filter((time) => time !== undefined);
    return { ...route, serverColdMs: cold, serverWarmMs: completed.length === 0 ? undefined : distribution(Float64Array.from(completed)) };
  });

  const others = auctions.filter((auction) => auction.ownerId === OTHER && auction.shape === 'auction');
  return {
    owner: { auctions: owned.length, snapshots: owned.length * AUCTION_WINDOWS },
    other: { auctions: others.length, snapshots: others.length * AUCTION_WINDOWS },
    channel: { auctionId: channel.id, snapshots: CHANNEL_WINDOWS },
    seeding: { ...seeding, settleMs: settled.busyMs, settleCpuSeconds: settled.cpuSeconds, settledQuiet: settled.quiet },
    routes,
    chart,
    database,
    readyAfterMs,
  };
}

const verdict = (values: readonly (number | undefined)[]): string =>
  values.some((value) => value === undefined) ? 'not measured' : values.every((value) => (value ?? 0) < INSIGHTS_BAR_MS) ? 'pass' : '**fail**';

/** The tables: seeding, each route against the 1 s bar with Fastify's share, the database's answers. */
export function insightsMarkdown(result: InsightsResult): string[] {
  const { seeding } = result;
  return [
    `#### Insights: ${formatInt(result.owner.auctions)} auctions of 3 hours (${formatInt(result.owner.snapshots)} snapshots) of one owner, ` +
      `${formatInt(result.other.auctions)} (${formatInt(result.other.snapshots)}) of another, one auction of 30 days of minutes (${formatInt(result.channel.snapshots)})`,
    '',
    `Seeded through the batch ingest route: ${formatInt(seeding.snapshots)} snapshots ${seeding.withVisitors ? 'with' : 'without'} visitor sketches ` +
      `(${seeding.meanItemBytes.toFixed(0)} B of JSON each) in ${formatInt(seeding.batches)} batches, ${(seeding.ingestMs / 1000).toFixed(1)} s: ` +
      `${formatInt(seeding.snapshotsPerSecond)} snapshots/s, batch p50 ${ms(seeding.batchMs.p50)}, p99 ${ms(seeding.batchMs.p99)}; ` +
      `${formatInt(seeding.auctions)} auctions created and switched on through the API in ${(seeding.createAuctionsMs / 1000).toFixed(1)} s; ` +
      `${formatInt(seeding.stored)} stored. Then the backend and the database worked ${(seeding.settleMs / 1000).toFixed(1)} s more ` +
      `(${seeding.settleCpuSeconds.toFixed(1)} CPU-seconds)${seeding.settledQuiet ? ' before going quiet' : ', and were still busy when the wait ended'}.`,
    '',
    `The backend started afresh for the requests below answered /ready ${ms(result.readyAfterMs)} after its spawn (its hour marks and figures loaded); ` +
      '"cold" is its first request of each route after that.',
    '',
    '| request | cold | then p50 | p99 | n | Fastify: cold / p50 | reply | bar < 1 s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...result.routes.map((route) => {
      const failures = [route.coldFailure, route.warmFailure].filter((failure) => failure !== undefined).map((failure) => failure.replaceAll('|', '/'));
      const measured = route.coldFailure === undefined && route.warmFailure === undefined ? verdict([route.coldMs, route.warmMs?.p99]) : '**fail**';
      return (
        `| ${route.name}${route.holds === '' ? '' : ` (${route.holds})`} | ${ms(route.coldMs)}${route.coldFailure === undefined ? '' : ' (failed)'} | ` +
        `${ms(route.warmMs?.p50)} | ${ms(route.warmMs?.p99)} | ${String(route.warmMs?.n ?? 0)} | ${ms(route.serverColdMs)} / ${ms(route.serverWarmMs?.p50)} | ` +
        `${formatInt(route.replyBytes / 1024)} KiB | ${measured}${failures.length === 0 ? '' : `: ${failures.join('; ')}`} |`
      );
    }),
    `| chart page, 30 days, in Chromium, opened by its address: navigation → chart and summary drawn (${String(result.chart.drawnMs.n)} loads, fresh context each) | ` +
      `${ms(result.chart.firstDrawnMs)} | ${ms(result.chart.drawnMs.p50)} | ${ms(result.chart.drawnMs.max)} (max) | ${String(result.chart.drawnMs.n)} | | | ` +
      `${result.chart.failures.length > 0 ? `**fail**: ${result.chart.failures.join('; ').replaceAll('|', '/')}` : verdict([result.chart.drawnMs.p50])} |`,
    `| the same opened by a click: the click on Viewer Analytics → chart and summary drawn | | ${ms(result.chart.openedToDrawnMs.p50)} | ` +
      `${ms(result.chart.openedToDrawnMs.max)} (max) | ${String(result.chart.openedToDrawnMs.n)} | | | ` +
      `${result.chart.failures.length > 0 ? '**fail**' : verdict([result.chart.openedToDrawnMs.p50])} |`,
    '',
    `Chart load by the address, p50: the viewers request sent ${ms(result.chart.apiStartMs.p50)} after navigation (HTML, scripts), answered in ` +
      `${ms(result.chart.apiMs.p50)}, chart and summary on screen ${ms(result.chart.afterApiMs.p50)} after its last byte.` +
      (Object.keys(result.chart.marks).length === 0
        ? ''
        : ` The page's marks: ${Object.entries(result.chart.marks).map(([name, at]) => `${name} ${ms(at)}`).join(', ')}.`) +
      ` Opened by a click, the click came ${ms(result.chart.openedMs.p50)} after navigation (Playwright's round trips included).`,
    '',
    '| asked of the database directly | first | again | documents |',
    '| --- | ---: | ---: | ---: |',
    ...result.database.map((timing) =>
      timing.error === undefined
        ? `| ${timing.label} | ${ms(timing.firstMs)} | ${ms(timing.secondMs)} | ${formatInt(timing.documents)} |`
        : `| ${timing.label} | ${timing.error} | | |`,
    ),
  ];
}
