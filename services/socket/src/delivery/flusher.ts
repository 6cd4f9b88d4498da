import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { MAX_BATCH_SNAPSHOTS } from '@viewer-analytics/shared';
import type { SocketMetrics } from '../metrics.js';
import type { BackendClient } from './backend-client.js';
import { encodeBatch, MAX_BATCH_BYTES } from './batch-encoder.js';
import type { SnapshotOutbox } from './snapshot-outbox.js';

export interface FlusherOptions {
  readonly outbox: SnapshotOutbox;
  readonly client: Pick<BackendClient, 'postSnapshots'>;
  readonly concurrency: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly log: Logger;
  readonly metrics: SocketMetrics;
}

interface Range {
  readonly from: number;
  readonly to: number;
  done: boolean;
}

/**
 * Sends the outbox to the backend in batches of up to 5,000 snapshots, a few requests at once.
 * A record leaves the outbox only when the backend answered for it and for everything before
 * it. On failure it waits (exponential backoff with jitter) and sends again from the oldest
 * record: the backend's unique index makes the resent ones harmless duplicates.
 */
export class Flusher {
  private sendCursor = 0;
  private inFlight = 0;
  private failed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly ranges: Range[] = [];
  private readonly freeBuffers: Buffer[] = [];

  constructor(private readonly options: FlusherOptions) {}

  /** Starts sending whatever waits, unless a retry is already scheduled. */
  kick(): void {
    const { outbox, concurrency } = this.options;
    if (this.retryTimer !== undefined || this.failed) return;
    if (this.sendCursor < outbox.head) this.sendCursor = outbox.head;
    while (this.inFlight < concurrency && this.sendCursor < outbox.tail) {
      const from = this.sendCursor;
      const count = Math.min(MAX_BATCH_SNAPSHOTS, outbox.tail - from);
      this.sendCursor += count;
      void this.send(from, count);
    }
  }

  /** Keeps sending until the outbox is empty or the time is up; true when all was delivered. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.options.outbox.size === 0 && this.inFlight === 0) return true;
      if (Date.now() >= deadline) return false;
      if (this.retryTimer !== undefined && this.inFlight === 0) {
        // During shutdown there is no time for a long backoff: try again now.
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.kick();
      }
      await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
    }
  }

  stop(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async send(from: number, count: number): Promise<void> {
    const { outbox, client, log, metrics } = this.options;
    this.inFlight++;
    const range: Range = { from, to: from + count, done: false };
    this.ranges.push(range);
    const buffer = this.freeBuffers.pop() ?? Buffer.allocUnsafe(MAX_BATCH_BYTES);
    const length = encodeBatch(outbox, from, count, buffer);
    const started = performance.now();
    try {
      const result = await client.postSnapshots(buffer.subarray(0, length));
      const ms = Math.round(performance.now() - started);
      metrics.observeFlush(ms / 1000);
      if (result.ok) {
        range.done = true;
        this.attempt = 0;
        const { stored, duplicates, disabled, unknown } = result.outcome;
        metrics.snapshotsSent.stored += stored;
        metrics.snapshotsSent.duplicates += duplicates;
        metrics.snapshotsSent.disabled += disabled;
        metrics.snapshotsSent.unknown += unknown;
        log.info({ snapshots: count, stored, duplicates, disabled, unknown, ms }, 'analytics sent');
      } else if (!result.retry) {
        range.done = true;
        metrics.snapshotsSent.rejected += count;
        log.error({ snapshots: count, status: result.status, reason: result.reason }, 'backend refused a snapshot batch; dropped');
      } else {
        this.fail(count, `backend answered ${result.status}: ${result.reason}`);
      }
    } catch (error) {
      this.fail(count, error instanceof Error ? error.message : String(error));
    } finally {
      this.inFlight--;
      this.freeBuffers.push(buffer);
      this.settle();
    }
  }

  private fail(count: number, reason: string): void {
    this.failed = true;
    this.options.metrics.flushFailures++;
    this.options.log.warn({ snapshots: count, reason, waiting: this.options.outbox.size }, 'analytics delivery failed; will retry');
  }

  private settle(): void {
    const { outbox } = this.options;
    while (this.ranges[0]?.done === true) outbox.acknowledge(this.ranges.shift()!.to);
    if (!this.failed) {
      this.kick();
      return;
    }
    if (this.inFlight > 0) return;
    this.ranges.length = 0;
    this.sendCursor = outbox.head;
    this.failed = false;
    const ceiling = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** this.attempt);
    this.attempt++;
    // "Equal jitter": at least half the backoff, so that retries spread without hammering.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
  }
}
