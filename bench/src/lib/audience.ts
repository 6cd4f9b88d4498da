/**
 * A synthetic audience for the insights benchmark: the snapshots the socket server would have sent
 * for auctions of the past, deterministic (a seeded plan, every window a pure function of its
 * auction and position) so that two runs store the same data. The shapes give the overview, the
 * heatmap and the chart something to show: auctions start mostly in the evening and at weekends,
 * an audience warms up, builds towards the close, peaks just before it and drops off after it.
 */
import { mix32 } from '@viewer-analytics/testkit';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A full one-minute window: 12 samples of 5 s. */
const SAMPLES = 12;

/** How an audience moves over the life of one auction. */
export type AudienceShape = 'auction' | 'channel';

/** An auction to create and fill; its id comes from the backend that creates it. */
export interface AuctionPlan {
  readonly ownerId: string;
  /** Start of the first window, ms since the epoch (a minute boundary). */
  readonly start: number;
  readonly windows: number;
  /** Viewers on the plateau. */
  readonly scale: number;
  readonly shape: AudienceShape;
  /** Feeds the per-window noise and the visitor hashes. */
  readonly seed: number;
}

export interface PlannedAuction extends AuctionPlan {
  readonly id: string;
}

/** The figures of one window, as the batch ingest takes them (without the visitors). */
export interface AudienceWindow {
  readonly auctionId: string;
  readonly timestamp: string;
  readonly viewerCount: number;
  readonly avgViewers: number;
  readonly peakViewers: number;
  readonly minViewers: number;
  readonly sampleCount: number;
}

/** A seeded uniform generator in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Relative weight of an auction starting at each UTC hour: evenings, then lunchtime. */
const START_HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.5, 1, 2, 3, 3, 3, 4, 4, 3, 3, 4, 6, 9, 10, 9, 6, 3, 2];
/** Relative weight of each day of the week (UTC, 0 = Sunday): weekends busier. */
const DAY_WEIGHTS = [1.6, 0.8, 0.8, 0.9, 1, 1.2, 1.7];

function pickWeighted(weights: readonly number[], random: () => number): number {
  let total = 0;
  for (const weight of weights) total += weight;
  let left = random() * total;
  for (let i = 0; i < weights.length; i++) {
    left -= weights[i] ?? 0;
    if (left < 0) return i;
  }
  return weights.length - 1;
}

export interface AuctionPlanOptions {
  readonly ownerId: string;
  readonly count: number;
  readonly windows: number;
  /** The run's clock, ms: every window ends before it, and none starts more than 29 days before it. */
  readonly now: number;
  readonly seed: number;
}

/**
 * `count` auctions of `windows` minutes each, spread over the 29 days before `now`: the day by
 * DAY_WEIGHTS, the start hour by START_HOUR_WEIGHTS, the plateau log-uniform between 8 and 400.
 */
export function planAuctions({ ownerId, count, windows, now, seed }: AuctionPlanOptions): AuctionPlan[] {
  const random = seededRandom(seed);
  const today = Math.floor(now / DAY) * DAY;
  const latestStart = Math.floor(now / MINUTE) * MINUTE - (windows + 1) * MINUTE;
  const planned: AuctionPlan[] = [];
  while (planned.length < count) {
    const day = today - (1 + Math.floor(random() * 29)) * DAY;
    // Rejection sampling on the weekday's weight (the largest is 1.7).
    if (random() * 1.7 > (DAY_WEIGHTS[new Date(day).getUTCDay()] ?? 1)) continue;
    let start = day + pickWeighted(START_HOUR_WEIGHTS, random) * HOUR + Math.floor(random() * 60) * MINUTE;
    if (start > latestStart) start -= DAY;
    planned.push({
      ownerId,
      start,
      windows,
      scale: Math.round(8 * Math.exp(random() * Math.log(400 / 8))),
      shape: 'auction',
      seed: mix32(seed, planned.length),
    });
  }
  return planned;
}

/** One auction running without a break for `windows` minutes up to `now` (its last window is the current minute). */
export function planChannel(ownerId: string, windows: number, now: number, seed: number): AuctionPlan {
  const last = Math.floor(now / MINUTE) * MINUTE;
  return { ownerId, start: last - (windows - 1) * MINUTE, windows, scale: 120, shape: 'channel', seed };
}

/** Uniform in [0, 1) from a window's position: the same every run. */
const noiseOf = (seed: number, i: number): number => mix32(seed, i) / 4_294_967_296;

/** The audience's level (1 = the plateau) at window `i`. */
function level(auction: AuctionPlan, i: number, timestamp: number): number {
  if (auction.shape === 'channel') {
    // A daily cycle (quiet at 04:00 UTC, busiest at 19:00), a little busier at weekends.
    const hour = (timestamp % DAY) / HOUR;
    const daily = 0.2 + 0.8 * (0.5 + 0.5 * Math.cos(((hour - 19) / 24) * 2 * Math.PI));
    const weekday = new Date(timestamp).getUTCDay();
    return daily * (weekday === 0 || weekday === 6 ? 1.25 : 1);
  }
  const n = auction.windows;
  if (i < 20) return 0.3 + (0.7 * i) / 20; // people arrive
  if (i < n - 30) return 1 + 0.08 * Math.sin(i / 9); // the plateau
  if (i < n - 10) return 1 + (0.5 * (i - (n - 30))) / 20; // bidding builds towards the close
  return 1.5 - (1.1 * (i - (n - 10))) / 10; // the hammer falls; people leave
}

/** Window `i` of `auction`: its figures, consistent (min ≤ avg ≤ peak, min ≤ last ≤ peak). */
export function windowOf(auction: PlannedAuction, i: number): AudienceWindow {
  const timestamp = auction.start + i * MINUTE;
  const noise = 1 + 0.08 * (noiseOf(auction.seed, i) - 0.5);
  const avgViewers = Math.round(auction.scale * level(auction, i, timestamp) * noise * 10_000) / 10_000;
  const peakViewers = Math.ceil(avgViewers * 1.08);
  const minViewers = Math.floor(avgViewers * 0.92);
  const viewerCount = Math.min(peakViewers, Math.max(minViewers, Math.round(avgViewers)));
  return {
    auctionId: auction.id,
    timestamp: new Date(timestamp).toISOString(),
    viewerCount,
    avgViewers,
    peakViewers,
    minViewers,
    sampleCount: SAMPLES,
  };
}

/**
 * The visitor hashes window `i` saw: a little more than its average audience, drawn as a sliding
 * run from a pool per auction and day (the socket server's salt changes daily, so a visitor's
 * key does too), 4 % of the audience replaced each minute. Consecutive windows therefore share
 * most of their visitors, and an auction's uniques exceed its peak without reaching the sum.
 */
export function visitorsOf(auction: PlannedAuction, i: number, window: AudienceWindow): Uint32Array {
  const timestamp = auction.start + i * MINUTE;
  const day = Math.floor(timestamp / DAY);
  const distinct = window.peakViewers === 0 ? 0 : Math.max(window.peakViewers, Math.round(window.avgViewers * 1.2));
  const first = Math.floor(i * 0.04 * auction.scale);
  const pool = mix32(auction.seed, day);
  const hashes = new Uint32Array(distinct);
  for (let k = 0; k < distinct; k++) hashes[k] = mix32(pool, first + k);
  return hashes;
}

/** Every window of `auctions`, oldest first (ties in plan order), as [auction index, window index] pairs. */
export function windowsInTimeOrder(auctions: readonly AuctionPlan[]): Uint32Array {
  let total = 0;
  for (const auction of auctions) total += auction.windows;
  const order = new Uint32Array(total * 2);
  const starts = new Float64Array(total);
  let at = 0;
  auctions.forEach((auction, a) => {
    for (let i = 0; i < auction.windows; i++) {
      starts[at] = auction.start + i * MINUTE;
      order[2 * at] = a;
      order[2 * at + 1] = i;
      at++;
    }
  });
  const index = Array.from({ length: total }, (_, k) => k).sort((x, y) => (starts[x] ?? 0) - (starts[y] ?? 0) || x - y);
  const sorted = new Uint32Array(total * 2);
  index.forEach((k, position) => {
    sorted[2 * position] = order[2 * k] ?? 0;
    sorted[2 * position + 1] = order[2 * k + 1] ?? 0;
  });
  return sorted;
}
