import type { AuctionSlots } from '../auctions/auction-slots.js';
import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';
import { ChangedSlots } from '../auctions/changed-slots.js';
import type { ViewerCountSource } from '../auctions/viewer-counts.js';
import type { SocketMetrics } from '../metrics.js';
import type { CountMessageEncoder } from './count-message.js';

export interface Publisher {
  publish(topic: string, message: Uint8Array, isBinary: boolean): boolean;
}

/**
 * How often changes are looked at: a change waits at most this long once its auction's interval
 * has passed, so the trailing update of a surge comes within one interval plus this.
 */
export const BROADCAST_TICK_MS = 50;

/**
 * Coalesces count changes, leading edge first: a join on an auction whose topic heard nothing
 * for a whole interval is published at once (`nudge`); every other change waits until the
 * interval since its auction's last publish has passed, and all that happened meanwhile goes out
 * as one viewerCountUpdate. A surge of N joins costs each viewer at most one frame per interval
 * (O(N) frames in all, not O(N²)); an auction whose count went up and back down costs nothing.
 */
export class Broadcaster {
  private readonly lastPublished: Int32Array;
  /** When (monotonic) each slot's topic last heard a count. */
  private readonly lastPublishedAt: Float64Array;
  /** Changed slots whose interval had not passed yet: looked at again on the next ticks. */
  private waiting: ChangedSlots;
  private stillWaiting: ChangedSlots;
  /** Slots nudged since the last leading publish, and the one pending publish of them. */
  private readonly leading: ChangedSlots;
  private leadingDue: NodeJS.Immediate | undefined;
  private now = 0;
  private timer: NodeJS.Timeout | undefined;
  private afterPublishing: () => void = () => undefined;

  constructor(
    private readonly publisher: Publisher,
    private readonly slots: AuctionSlots,
    private readonly counts: ViewerCountSource,
    private readonly encoder: CountMessageEncoder,
    private readonly metrics: SocketMetrics,
    private readonly intervalMs: number,
  ) {
    this.lastPublished = new Int32Array(slots.capacity).fill(-1);
    this.lastPublishedAt = new Float64Array(slots.capacity).fill(-Infinity);
    this.waiting = new ChangedSlots(slots.capacity);
    this.stillWaiting = new ChangedSlots(slots.capacity);
    this.leading = new ChangedSlots(slots.capacity);
  }

  /** Ticks on a timer of its own; with Redis, the cluster's shared marks call `tick` instead. */
  start(): void {
    this.timer = setInterval(this.tick, BROADCAST_TICK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    clearImmediate(this.leadingDue);
    this.leadingDue = undefined;
  }

  /** A slot taken by a new auction: its topic has heard nothing yet. */
  forget(slot: number): void {
    this.lastPublished[slot] = -1;
    this.lastPublishedAt[slot] = -Infinity;
  }

  /** Every subscriber of the slot's topic was told `count` directly. */
  told(slot: number, count: number): void {
    this.lastPublished[slot] = count;
  }

  /** True when the slot's topic has heard its auction's count now: a newcomer may subscribe without hearing it twice. */
  isCurrent(slot: number): boolean {
    return this.lastPublished[slot] === this.counts.countAt(slot);
  }

  /**
   * The leading edge: the slot's count changed (a join); if its topic heard nothing for a whole
   * interval, it hears the new count as soon as the handler that joined returns, instead of on a
   * later tick. Not from inside it: uWS calls `open` within the upgrade, and a publish there would
   * write to other sockets while it holds the upgrading one corked.
   */
  nudge(slot: number): void {
    if (performance.now() - this.lastPublishedAt[slot]! < this.intervalMs) return;
    this.leading.add(slot);
    this.leadingDue ??= setImmediate(this.publishLeading);
  }

  /**
   * Runs `listener` at the end of every tick, when every topic whose interval passed has heard
   * its auction's count: viewers who joined since can be subscribed to those.
   */
  onPublished(listener: () => void): void {
    this.afterPublishing = listener;
  }

  readonly tick = (): void => {
    this.now = performance.now();
    this.encoder.setTime(Date.now());
    // Swapped first: slots still too recent are added to the other set while this one drains.
    const waiting = this.waiting;
    this.waiting = this.stillWaiting;
    this.stillWaiting = waiting;
    waiting.drain(this.publishIfDue);
    this.counts.forEachChanged(this.publishIfDue);
    this.afterPublishing();
  };

  private readonly publishLeading = (): void => {
    this.leadingDue = undefined;
    this.now = performance.now();
    this.encoder.setTime(Date.now());
    this.leading.drain(this.publishIfDue);
    this.afterPublishing();
  };

  private readonly publishIfDue = (slot: number): void => {
    if (this.slots.active[slot] !== 1) return;
    const count = this.counts.countAt(slot);
    if (count === this.lastPublished[slot]) return;
    if (this.now - this.lastPublishedAt[slot]! < this.intervalMs) {
      this.waiting.add(slot);
      return;
    }
    this.lastPublished[slot] = count;
    this.lastPublishedAt[slot] = this.now;
    this.publisher.publish(this.slots.topicOf(slot), this.encoder.encode(this.slots.idBytes, slot * AUCTION_ID_LENGTH, count), false);
    this.metrics.messagesPublished++;
  };
}
