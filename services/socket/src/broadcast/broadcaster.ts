import type { AuctionSlots } from '../auctions/auction-slots.js';
import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';
import type { ViewerCountSource } from '../auctions/viewer-counts.js';
import type { SocketMetrics } from '../metrics.js';
import type { CountMessageEncoder } from './count-message.js';

export interface Publisher {
  publish(topic: string, message: Uint8Array, isBinary: boolean): boolean;
}

/**
 * Coalesces count changes: once per interval, each auction whose count differs from what its
 * topic last heard gets one viewerCountUpdate. A surge of N joins costs O(N) frames per
 * interval, not O(N²), and an auction whose count went up and back down costs nothing.
 */
export class Broadcaster {
  private readonly lastPublished: Int32Array;
  private timer: NodeJS.Timeout | undefined;
  private afterPublishing: () => void = () => undefined;

  constructor(
    private readonly publisher: Publisher,
    private readonly slots: AuctionSlots,
    private readonly counts: ViewerCountSource,
    private readonly encoder: CountMessageEncoder,
    private readonly metrics: SocketMetrics,
  ) {
    this.lastPublished = new Int32Array(slots.capacity).fill(-1);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(this.tick, intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A slot taken by a new auction: its topic has heard nothing yet. */
  forget(slot: number): void {
    this.lastPublished[slot] = -1;
  }

  /** Every subscriber of the slot's topic was told `count` directly. */
  told(slot: number, count: number): void {
    this.lastPublished[slot] = count;
  }

  /**
   * Runs `listener` at the end of every tick, when every topic has heard its auction's count:
   * viewers who joined since can be subscribed then without hearing a count twice.
   */
  onPublished(listener: () => void): void {
    this.afterPublishing = listener;
  }

  readonly tick = (): void => {
    this.encoder.setTime(Date.now());
    this.counts.forEachChanged(this.publishIfChanged);
    this.afterPublishing();
  };

  private readonly publishIfChanged = (slot: number): void => {
    if (this.slots.active[slot] !== 1) return;
    const count = this.counts.countAt(slot);
    if (count === this.lastPublished[slot]) return;
    this.lastPublished[slot] = count;
    this.publisher.publish(this.slots.topicOf(slot), this.encoder.encode(this.slots.idBytes, slot * AUCTION_ID_LENGTH, count), false);
    this.metrics.messagesPublished++;
  };
}
