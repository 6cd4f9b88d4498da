/**
 * Scenario 6: how the dashboard's 1-hour read and a batch ingest grow with the snapshots stored,
 * through our backend's real routes on the benchmark's database: 5,000 auctions, the collection
 * grown to each size in turn (10k, 100k, then 1M in full mode), the same requests timed at each.
 * The collection is filled directly, in the ingest's layout (keyed by auction and window).
 */
import { ObjectId } from 'mongodb';
import { createSigner } from 'fast-jwt';
import { Pool } from 'undici';
import { snapshotKey, type SnapshotDocument } from '@viewer-analytics/shared';
import { newAuctionIds, seedAuctions } from '../lib/database.js';
import { formatInt } from '../lib/progress.js';
import { distribution, type Distribution } from '../lib/stats.js';
import { startOurBackend, type Context } from './context.js';

export interface DashboardStep {
  readonly snapshots: number;
  /** GET /api/v1/auctions/:id/analytics/viewers?timeRange=1h of a random auction, one at a time, after the warm-up reads. */
  readonly oneHourMs: Distribution;
  /** The warm-up reads before them (the first after the collection grew): not in oneHourMs. */
  readonly warmUpMs: readonly number[];
  /** POST /api/v1/analytics/snapshots with 1,000 snapshots of a new window, one at a time. */
  readonly batchIngestMs: Distribution;
}

export interface DashboardResult {
  readonly auctions: number;
  readonly steps: readonly DashboardStep[];
}

const AUCTIONS = 5_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const INGEST_BATCH = 1_000;
const DATABASE = 'bench_dashboard';
/** What every seeded and ingested window says: the figures do not matter, only the documents. */
const FIGURES = { viewerCount: 40, avgViewers: 38.5, peakViewers: 45, minViewers: 30, sampleCount: 12 } as const;

export async function runDashboardSuite(ctx: Context): Promise<DashboardResult> {
  const { config, progress } = ctx;
  const auctions = newAuctionIds(AUCTIONS);
  await seedAuctions(ctx.mongo, DATABASE, auctions);
  // Hundreds of reads by one user are beyond a person's request budget.
  const backend = await startOurBackend(ctx, DATABASE, 'ours-backend-dashboard', { RATE_LIMIT_MAX: '1000000' });
  const pool = new Pool(backend.origin, { connections: 1 });
  const token = createSigner({ key: ctx.jwtSecret, expiresIn: 3_600_000 })({ sub: 'bench', role: 'admin' });
  const snapshots = ctx.mongo.db(DATABASE).collection<SnapshotDocument>('vieweranalytics');
  const now = Math.floor(Date.now() / MINUTE) * MINUTE;
  // Windows go back in time from the current minute, a minute per round over every auction, so
  // each auction's last hour is full (60 windows) once the collection holds 60 rounds.
  let round = 0;
  /** Seeded windows a 1-hour read at `at` holds: those that start within the hour before it. */
  const seededWithin = (at: number): number => Math.max(0, Math.min(round, Math.floor((now - at + HOUR) / MINUTE) + 1));
  /** Documents stored: every seeding round and timed batch is checked to store all of its snapshots. */
  let count = 0;
  // The timed batches' windows go back from 6 hours ago: never a seeded window (at most 200 rounds).
  let ingestWindow = now - 6 * 60 * MINUTE;
  const steps: DashboardStep[] = [];
  try {
    for (const size of config.dashboardSizes) {
      progress.step(`dashboard: growing vieweranalytics to ${formatInt(size)} snapshots`);
      while (count + AUCTIONS <= size) {
        const timestamp = new Date(now - round * MINUTE);
        const stored = new Date();
        await snapshots.insertMany(
          auctions.map((id) => ({
            _id: snapshotKey(id, timestamp.getTime()),
            auction: new ObjectId(id),
            timestamp,
            ...FIGURES,
            createdAt: stored,
            updatedAt: stored,
          })),
          { ordered: false },
        );
        round += 1;
        count += AUCTIONS;
      }

      const readAgainst = count;
      /** `n` 1-hour reads of random auctions, one at a time, each checked to hold the windows seeded; their times. */
      const oneHourReads = async (n: number): Promise<number[]> => {
        const times: number[] = [];
        for (let i = 0; i < n; i++) {
          const auction = auctions[Math.floor(Math.random() * AUCTIONS)] ?? '';
          const askedAt = Date.now();
          const started = performance.now();
          const { statusCode, body } = await pool.request({
            method: 'GET',
            path: `/api/v1/auctions/${auction}/analytics/viewers?timeRange=1h`,
            headers: { authorization: `Bearer ${token}` },
          });
          const reply = (await body.json()) as { data?: { snapshots?: unknown[] } };
          times.push(performance.now() - started);
          if (statusCode !== 200) throw new Error(`dashboard: the 1-hour read answered ${String(statusCode)}`);
          // The route reads its clock between these two moments, and a minute may turn in between.
          const points = reply.data?.snapshots?.length ?? 0;
          const [fewest, most] = [seededWithin(Date.now()), seededWithin(askedAt)];
          if (points < fewest || points > most) {
            throw new Error(`dashboard: the 1-hour read gave ${String(points)} points, expected ${String(fewest)} to ${String(most)}`);
          }
        }
        return times;
      };
      // Reported apart, not timed with the rest: the first reads after the collection grew (and, at the first size, after the backend started).
      const warmUp = await oneHourReads(config.dashboardWarmupQueries);
      const oneHour = await oneHourReads(config.dashboardQueries);

      const ingest: number[] = [];
      for (let i = 0; i < 3; i++) {
        ingestWindow -= MINUTE;
        const timestamp = new Date(ingestWindow).toISOString();
        const items = auctions.slice(0, INGEST_BATCH).map((auctionId) => ({ auctionId, timestamp, ...FIGURES }));
        const started = performance.now();
        const { statusCode, body } = await pool.request({
          method: 'POST',
          path: '/api/v1/analytics/snapshots',
          headers: { 'content-type': 'application/json', 'x-internal-api-key': ctx.internalKey },
          body: JSON.stringify({ snapshots: items }),
        });
        const reply = (await body.json()) as { data?: { stored?: number } };
        ingest.push(performance.now() - started);
        if (statusCode !== 200 || reply.data?.stored !== INGEST_BATCH) {
          throw new Error(`dashboard: a batch ingest answered ${String(statusCode)} ${JSON.stringify(reply)}`);
        }
        count += INGEST_BATCH;
      }

      const step = { snapshots: readAgainst, oneHourMs: distribution(Float64Array.from(oneHour)), warmUpMs: warmUp, batchIngestMs: distribution(Float64Array.from(ingest)) };
      steps.push(step);
      progress.step(
        `dashboard: ${formatInt(readAgainst)} snapshots: 1-hour read p50 ${step.oneHourMs.p50.toFixed(1)} ms, p99 ${step.oneHourMs.p99.toFixed(1)} ms ` +
          `(${formatInt(oneHour.length)} reads; the ${formatInt(warmUp.length)} before them ${warmUp.map((ms) => ms.toFixed(0)).join(', ')} ms); ` +
          `batch of ${formatInt(INGEST_BATCH)} p50 ${step.batchIngestMs.p50.toFixed(0)} ms`,
      );
    }
  } finally {
    await pool.close();
    await backend.stop();
  }
  return { auctions: AUCTIONS, steps };
}

/** The table: both timings against the collection's size. */
export function dashboardMarkdown(result: DashboardResult): string[] {
  const ms = (value: number): string => `${value.toFixed(1)} ms`;
  return [
    `#### Dashboard read and batch ingest against the snapshots stored (${formatInt(result.auctions)} auctions)`,
    '',
    '| snapshots stored | 1-hour read p50 | p99 | max | first reads (not in the p50/p99) | batch of 1,000 p50 | max |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.steps.map(
      (step) =>
        `| ${formatInt(step.snapshots)} | ${ms(step.oneHourMs.p50)} | ${ms(step.oneHourMs.p99)} | ${ms(step.oneHourMs.max)} | ` +
        `${step.warmUpMs.map((value) => value.toFixed(0)).join(', ')} ms | ${ms(step.batchIngestMs.p50)} | ${ms(step.batchIngestMs.max)} |`,
    ),
  ];
}
