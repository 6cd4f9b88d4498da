import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { SnapshotRejection, type InvalidSnapshot } from '@viewer-analytics/shared';
import type { SocketMetrics } from '../metrics.js';
import type { BackendClient } from '../backend/backend-client.js';
import { batchLength, encodeBatch, MAX_BATCH_BYTES } from './batch-encoder.js';
import type { SnapshotOutbox } from './snapshot-outbox.js';

/** Decides how much of the outbox this process sends: with several processes, only the leader sends all of it. */
export interface DeliveryGate {
  /** The sequence number before which this process may send now (the outbox's tail when it sends everything). */
  sendableEnd(): number;
}

export interface FlusherOptions {
  readonly outbox: SnapshotOutbox;
  /** Absent: this process sends everything (a single process). */
  readonly gate?: DeliveryGate;
  readonly client: Pick<BackendClient, 'postSnapshots'>;
  readonly concurrency: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly log: Logger;
  readonly metrics: SocketMetrics;
  /** The outbox changed for a reason other than a window closing (acknowledged, deferred records). */
  readonly onSettled: () => void;
}

/** Retries while draining at shutdown start here and stay short: the deadline is seconds away. */
const DRAIN_RETRY_BASE_MS = 100;
const DRAIN_RETRY_MAX_MS = 1_000;
const DRAIN_POLL_MS = 20;

interface Range {
  readonly from: number;
  readonly to: number;
  done: boolean;
}

/**
 * Sends the outbox to the backend in batches of up to 5,000 snapshots (and 1.5 MiB), a few requests at once.
 * A record leaves the outbox only when the backend answered for it and for everything before
 * it. On failure (network, 5xx, 401, 408, 429) it waits (exponential backoff, "equal jitter")
 * and sends again from the oldest record: the backend's unique index makes the resent ones
 * harmless duplicates. Items the backend reports invalid are dropped one by one; items it finds
 * too far in the future (this host's clock is ahead) go back into the outbox for a later try.
 */
export class Flusher {
  private sendCursor = 0;
  private inFlight = 0;
  private failed = false;
  /** Failed attempts in a row: the backoff's exponent, and only the first is logged as a warning. */
  private attempt = 0;
  private draining = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly ranges: Range[] = [];
  private readonly freeBuffers: Buffer[] = [];

  constructor(private readonly options: FlusherOptions) {}

  /** Starts sending whatever waits, unless a retry is already scheduled. */
  kick(): void {
    const { outbox, concurrency } = this.options;
    if (this.retryTimer !== undefined || this.failed || this.stopped) return;
    const end = this.sendableEnd();
    if (this.sendCursor < outbox.head) this.sendCursor = outbox.head;
    while (this.inFlight < concurrency && this.sendCursor < end) {
      const from = this.sendCursor;
      const count = batchLength(outbox, from, end);
      this.sendCursor += count;
      void this.send(from, count);
    }
  }

  /**
   * At shutdown: keeps sending, with short retries, until nothing this process may send is left
   * or `timeoutMs` has passed; then (or on `stop`) requests in flight are aborted. True when the
   * outbox is empty (a follower's copies stay in its file: the leader delivers them).
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.attempt = 0;
      this.kick();
    }
    const deadline = setTimeout(() => {
      this.stop();
    }, timeoutMs);
    try {
      while (this.inFlight > 0 || (this.sendableEnd() > this.options.outbox.head && !this.stopped)) await sleep(DRAIN_POLL_MS);
    } finally {
      clearTimeout(deadline);
    }
    return this.options.outbox.size === 0;
  }

  private sendableEnd(): number {
    return this.options.gate?.sendableEnd() ?? this.options.outbox.tail;
  }

  /** Sends nothing more and aborts the requests in flight: what they carried stays in the outbox. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.abort.abort();
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
      const result = await client.postSnapshots(buffer.subarray(0, length), this.abort.signal);
      const ms = Math.round(performance.now() - started);
      metrics.observeFlush(ms / 1000);
      if (result.ok) {
        range.done = true;
        const { stored, duplicates, disabled, unknown, invalid } = result.outcome;
        const deferred = this.settleInvalid(from, count, invalid);
        metrics.snapshotsSent.stored += stored;
        metrics.snapshotsSent.duplicates += duplicates;
        metrics.snapshotsSent.disabled += disabled;
        metrics.snapshotsSent.unknown += unknown;
        log.info({ snapshots: count, stored, duplicates, disabled, unknown, invalid: invalid.length, ms }, 'analytics sent');
        if (deferred > 0) {
          // This host's clock runs ahead of the backend's: sending them again at once cannot help.
          this.fail(deferred, 'backend says these windows start too far in the future (this clock is ahead of its); kept for later');
        } else this.recovered();
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

  /**
   * Drops the items the backend called invalid and puts those it found too far in the future
   * back at the end of the outbox; returns how many went back.
   */
  private settleInvalid(from: number, count: number, invalid: readonly InvalidSnapshot[]): number {
    const { outbox, metrics, log } = this.options;
    let deferred = 0;
    for (const { index, code } of invalid) {
      const seq = from + index;
      if (!Number.isInteger(index) || index < 0 || index >= count || seq < outbox.head) continue;
      if (code === SnapshotRejection.inFuture) {
        outbox.requeue(seq);
        deferred++;
      }
    }
    const rejected = invalid.length - deferred;
    if (rejected > 0) {
      metrics.snapshotsSent.rejected += rejected;
      const first = invalid.find(({ code }) => code !== SnapshotRejection.inFuture);
      log.error({ rejected, first }, 'backend refused snapshots as invalid; dropped those alone');
    }
    metrics.snapshotsDeferred += deferred;
    return deferred;
  }

  private fail(count: number, reason: string): void {
    this.failed = true;
    this.options.metrics.flushFailures++;
    const details = { snapshots: count, reason, waiting: this.options.outbox.size, attempt: this.attempt + 1 };
    // One warning per outage, not one per retry: the metric counts them all.
    if (this.attempt === 0 && !this.stopped) this.options.log.warn(details, 'analytics delivery failed; will retry');
    else this.options.log.debug(details, 'analytics delivery failed again');
  }

  private recovered(): void {
    if (this.attempt > 0) this.options.log.info({ failedAttempts: this.attempt }, 'analytics delivery recovered');
    this.attempt = 0;
  }

  private settle(): void {
    const { outbox } = this.options;
    while (this.ranges[0]?.done === true) outbox.acknowledge(this.ranges.shift()!.to);
    this.options.onSettled();
    if (!this.failed) {
      this.kick();
      return;
    }
    if (this.inFlight > 0 || this.stopped) return;
    this.ranges.length = 0;
    this.sendCursor = outbox.head;
    this.failed = false;
    const base = this.draining ? DRAIN_RETRY_BASE_MS : this.options.retryBaseMs;
    const max = this.draining ? DRAIN_RETRY_MAX_MS : this.options.retryMaxMs;
    const ceiling = Math.min(max, base * 2 ** this.attempt);
    this.attempt++;
    // "Equal jitter": at least half the backoff, so that retries spread without hammering.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
  }
}
