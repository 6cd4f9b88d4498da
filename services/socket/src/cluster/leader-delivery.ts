import type { Redis } from 'ioredis';
import type { DeliveryGate } from '../delivery/flusher.js';
import type { SnapshotOutbox } from '../delivery/snapshot-outbox.js';
import type { LeaderLease } from './leader-lease.js';

export interface LeaderDeliveryOptions {
  /** Made by createRedisConnection: a command that cannot reach Redis fails at once. */
  readonly redis: Redis;
  readonly prefix: string;
  readonly lease: LeaderLease;
  readonly outbox: SnapshotOutbox;
  readonly windowMs: number;
  /** How long a delivered window stays marked: longer than any snapshot waits in an outbox. */
  readonly keepMarksMs: number;
  /** How often the marks are read (and this process's written, when it leads). */
  readonly refreshMs: number;
  /** The outbox lost records from its head (trimmed), or this process may send more (became the leader, a hole appeared). */
  readonly onChange: () => void;
  /** True when no other process is alive: this one may lead before it sampled a whole window. */
  readonly alone: () => boolean;
  /** Wall-clock time this process began sampling: the windows it saw whole start after it. */
  readonly startedAt: number;
  readonly log: (message: string) => void;
}

/** Marks read at most per refresh: more would be windows of days ago, trimmed in later refreshes. */
const MAX_MARKS_READ = 5_000;

/**
 * Every process samples the same global counts and keeps every window's snapshots in its own
 * outbox (and file); only the leader sends them. Once the backend has answered for all of a
 * window's snapshots, the leader marks that window delivered in Redis (`<prefix>delivered`, a
 * sorted set of window starts), and every follower drops its copies of marked windows.
 *
 * So a window survives the death of any process: the leader dies before its window is
 * delivered, and the next leader (which sampled the same window) sends its copy; a follower
 * dies, and nothing was its alone. A leader marks only windows it closed itself in its current
 * life; a follower holding an unmarked window older than the newest mark sees that the leader
 * never had it (it started later) and sends that window itself. The backend's unique index
 * turns the rare double sending (two leaders for a moment, a hole filled twice) into duplicates.
 */
export class LeaderDelivery implements DeliveryGate {
  private readonly key: string;
  /** Marked windows at or after the outbox's head, as last read (and as written by this process). */
  private readonly marked = new Set<number>();
  private newestMark = -Infinity;
  private firstClosed = -1;
  private lastClosed = -1;
  private lastMarkedByMe = -Infinity;
  private exchanging: Promise<void> | undefined;
  private standing = false;
  private failing = false;
  private resigned = false;
  private timer: NodeJS.Timeout | undefined;
  /** Windows this process marked delivered. */
  windowsMarked = 0;
  /** Records dropped because the leader delivered their window. */
  recordsTrimmed = 0;

  constructor(private readonly options: LeaderDeliveryOptions) {
    this.key = `${options.prefix}delivered`;
  }

  /**
   * A process stands for leader only once it has sampled a whole window (or when it is alone):
   * a leader that just started holds a partial first window, which the backend would keep.
   */
  start(): void {
    this.timer = setInterval(this.refresh, this.options.refreshMs);
    if (this.options.alone()) this.stand();
    this.refresh();
  }

  /** At shutdown, while other processes live: gives the lease back at once, so that one of them delivers. */
  async resign(): Promise<void> {
    this.resigned = true;
    await this.options.lease.stop();
  }

  /** At shutdown, after delivery's last attempt: marks what this process delivered, then gives the lease back. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.exchanging;
    if (this.isLeader) {
      this.refresh();
      await this.exchanging;
    }
    await this.resign();
  }

  get isLeader(): boolean {
    return this.options.lease.isLeader();
  }

  /** The sampler closed a window: its snapshots are in the outbox. */
  windowClosed(windowStart: number): void {
    this.lastClosed = Math.max(this.lastClosed, windowStart);
    if (windowStart < this.options.startedAt) return;
    if (this.firstClosed < 0) this.firstClosed = windowStart;
    this.stand();
  }

  private stand(): void {
    if (this.standing || this.resigned) return;
    this.standing = true;
    this.options.lease.start();
  }

  sendableEnd(): number {
    const { outbox } = this.options;
    if (this.isLeader) return outbox.tail;
    // A follower sends only windows the leader skipped: unmarked, yet older than its newest mark.
    let end = outbox.head;
    while (end < outbox.tail) {
      const window = outbox.windowStartOf(end);
      if (window >= this.newestMark) break;
      end++;
    }
    return end;
  }

  /** Reads the marks (writing this process's first when it leads) and drops the copies they cover. */
  readonly refresh = (): void => {
    if (this.exchanging !== undefined) return;
    this.exchanging = this.exchange()
      .then((exchanged) => {
        // Only a real exchange proves Redis is back: with nothing to mark or read, none was tried.
        if (!exchanged) return;
        if (this.failing) this.options.log('delivered windows exchanged with Redis again');
        this.failing = false;
      })
      .catch((error: unknown) => {
        // Nothing is lost: copies stay until a later refresh reads the marks. Said once per outage.
        if (!this.failing) this.options.log(`delivered windows not exchanged with Redis (${error instanceof Error ? error.message : String(error)}); retrying every ${String(this.options.refreshMs)} ms`);
        this.failing = true;
      })
      .finally(() => {
        this.exchanging = undefined;
      });
  };

  /** False when there was nothing to exchange (Redis was not asked). */
  private async exchange(): Promise<boolean> {
    const { redis, outbox, keepMarksMs } = this.options;
    const toMark = this.isLeader ? this.deliveredSinceLastMark() : [];
    if (toMark.length > 0) {
      const newest = toMark[toMark.length - 1]!;
      const members = toMark.flatMap((window) => [window, window]);
      await redis.multi().zadd(this.key, ...members).zremrangebyscore(this.key, '-inf', newest - keepMarksMs).exec();
      this.lastMarkedByMe = newest;
      this.windowsMarked += toMark.length;
    }
    // With nothing waiting there is nothing to drop or to send; the marks are read once there is.
    if (outbox.size === 0) return toMark.length > 0;
    const read = await redis.zrangebyscore(this.key, outbox.windowStartOf(outbox.head), '+inf', 'LIMIT', 0, MAX_MARKS_READ);
    const before = this.newestMark;
    this.marked.clear();
    for (const member of read) {
      const window = Number(member);
      this.marked.add(window);
      if (window > this.newestMark) this.newestMark = window;
    }
    const trimmed = this.trim();
    if (trimmed > 0 || this.newestMark !== before || this.isLeader) this.options.onChange();
    return true;
  }

  /** Windows this process closed and the backend answered for entirely, not yet marked by it. */
  private deliveredSinceLastMark(): number[] {
    const { outbox, windowMs } = this.options;
    if (this.firstClosed < 0) return [];
    // Records leave the outbox in order: every window before the oldest one left is delivered.
    const pendingFrom = outbox.size > 0 ? outbox.windowStartOf(outbox.head) : Infinity;
    const upTo = Math.min(this.lastClosed, pendingFrom - windowMs);
    const windows: number[] = [];
    for (let window = Math.max(this.firstClosed, this.lastMarkedByMe + windowMs); window <= upTo; window += windowMs) {
      windows.push(window);
    }
    return windows;
  }

  /** Drops records at the head whose window is marked delivered. */
  private trim(): number {
    const { outbox } = this.options;
    let head = outbox.head;
    while (head < outbox.tail && this.marked.has(outbox.windowStartOf(head))) head++;
    const trimmed = head - outbox.head;
    if (trimmed > 0) {
      outbox.acknowledge(head);
      this.recordsTrimmed += trimmed;
    }
    return trimmed;
  }
}
