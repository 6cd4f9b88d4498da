/**
 * Open-loop churn at a fixed rate: `perSecond` viewers a second join a random auction, and each
 * leaves (close frame) as soon as its own count arrives. Unlike the load workers' closed-loop
 * churn (as fast as the pair server + generator goes), the rate does not follow the server, so a
 * soak puts the same work on it in its tenth minute as in its first. It runs in the runner: a few
 * hundred short connections a second cost it little, and the held viewers stay in the load
 * processes.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawViewer, type Target, type ViewerListener } from '../load/raw-viewer.js';
import { Samples } from '../lib/stats.js';

/** Joins started per tick are caught up to the clock, so the tick only sets the granularity. */
const TICK_MS = 20;
/** A viewer not joined (or not closed after its leave) within this time is dropped and counted. */
const STUCK_MS = 15_000;

export class PacedChurn {
  /** Joins completed (own count received), each followed by its leave. */
  joins = 0;
  failed = 0;
  /** Joins not started because `maxInFlight` viewers were still joining or leaving. */
  skipped = 0;
  readonly failures: Record<string, number> = {};
  /** connect → own count, ms. */
  readonly joinMs = new Samples(64 * 1024);
  private readonly inFlight = new Set<RawViewer>();
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private due = 0;

  private readonly listener: ViewerListener = {
    joined: (viewer) => {
      this.joins++;
      this.joinMs.push(viewer.joinedAt - viewer.startedAt);
      viewer.leave();
    },
    closed: (viewer) => {
      this.inFlight.delete(viewer);
      if (viewer.joined) return;
      this.failed++;
      const reason = viewer.closeCode !== 0 ? `close ${viewer.closeCode}` : (viewer.error ?? 'closed before its first count');
      this.failures[reason] = (this.failures[reason] ?? 0) + 1;
    },
  };

  constructor(
    private readonly target: Target,
    private readonly auctions: readonly string[],
    private readonly perSecond: number,
    private readonly sourceAddress: string,
    private readonly maxInFlight = 256,
  ) {}

  start(): void {
    this.started = performance.now();
    this.due = 0;
    this.timer = setInterval(() => {
      this.tick();
    }, TICK_MS);
  }

  /** Stops starting joins and waits (at most `timeoutMs`) for those under way to end. */
  async stop(timeoutMs = 5_000): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const deadline = performance.now() + timeoutMs;
    while (this.inFlight.size > 0 && performance.now() < deadline) await sleep(20);
    for (const viewer of this.inFlight) viewer.destroy();
  }

  private tick(): void {
    const now = performance.now();
    const target = Math.floor(((now - this.started) / 1000) * this.perSecond);
    for (; this.due < target; this.due++) {
      if (this.inFlight.size >= this.maxInFlight) {
        this.skipped++;
        continue;
      }
      const auction = this.auctions[Math.floor(Math.random() * this.auctions.length)] ?? '';
      this.inFlight.add(new RawViewer(this.target, auction, this.sourceAddress, this.listener));
    }
    for (const viewer of this.inFlight) {
      if (now - viewer.startedAt > STUCK_MS) {
        viewer.error ??= 'join or close timed out';
        viewer.destroy();
      }
    }
  }
}
