import type { AuctionSlots } from '../auctions/auction-slots.js';
import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';
import type { ViewerCountSource } from '../auctions/viewer-counts.js';
import type { SnapshotOutbox } from '../delivery/snapshot-outbox.js';

export interface SamplerOptions {
  readonly slots: AuctionSlots;
  readonly counts: ViewerCountSource;
  readonly outbox: SnapshotOutbox;
  readonly intervalMs: number;
  readonly samplesPerWindow: number;
  /** True when no viewer of this process watches the slot's auction, so it may be freed. */
  readonly isIdle: (slot: number) => boolean;
  /** Called after a window's snapshots went into the outbox. */
  readonly onWindowClosed: (windowStart: number, snapshots: number) => void;
}

/**
 * Every interval, on the wall clock's marks, adds each live auction's count to its window
 * (min, max, sum, last, samples: flat typed arrays, one slot per auction, reused). When a new
 * window begins, the finished one goes into the outbox as one snapshot per auction. An auction
 * nobody watches is sampled until one full window of zeros went out; then its slot is freed.
 */
export class Sampler {
  readonly windowMs: number;
  private readonly min: Int32Array;
  private readonly max: Int32Array;
  private readonly sum: Float64Array;
  private readonly last: Int32Array;
  private readonly taken: Uint8Array;
  private currentWindow = -1;
  private lastSampleAt = -1;
  private skipThrough = -1;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SamplerOptions) {
    const capacity = options.slots.capacity;
    this.windowMs = options.intervalMs * options.samplesPerWindow;
    this.min = new Int32Array(capacity);
    this.max = new Int32Array(capacity);
    this.sum = new Float64Array(capacity);
    this.last = new Int32Array(capacity);
    this.taken = new Uint8Array(capacity);
  }

  /**
   * A previous process already flushed (part of) this window at shutdown: a second snapshot
   * with the same timestamp would be refused as a duplicate, so sampling resumes after it.
   */
  skipWindowsThrough(windowStart: number): void {
    this.skipThrough = windowStart;
  }

  start(): void {
    this.schedule(Date.now());
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Takes the sample due at `at`, a multiple of the interval. */
  sample(at: number): void {
    if (at <= this.lastSampleAt) return;
    this.lastSampleAt = at;
    const windowStart = at - (at % this.windowMs);
    if (windowStart !== this.currentWindow) {
      this.closeWindow();
      this.currentWindow = windowStart;
    }
    if (windowStart <= this.skipThrough) return;

    const { slots, counts } = this.options;
    const { active } = slots;
    for (let slot = 0; slot < slots.highWater; slot++) {
      if (active[slot] !== 1) continue;
      const count = counts.countAt(slot);
      if (this.taken[slot] === 0) {
        this.min[slot] = count;
        this.max[slot] = count;
        this.sum[slot] = count;
      } else {
        if (count < this.min[slot]!) this.min[slot] = count;
        if (count > this.max[slot]!) this.max[slot] = count;
        this.sum[slot] = this.sum[slot]! + count;
      }
      this.last[slot] = count;
      this.taken[slot] = this.taken[slot]! + 1;
    }
  }

  /**
   * Moves the current window's samples into the outbox (also at shutdown, for a partial
   * window) and returns the window's start, or -1 when no window was open.
   */
  closeWindow(): number {
    const windowStart = this.currentWindow;
    if (windowStart < 0) return -1;
    const { slots, outbox, samplesPerWindow, isIdle } = this.options;
    let snapshots = 0;
    for (let slot = 0; slot < slots.highWater; slot++) {
      const taken = this.taken[slot]!;
      if (taken === 0) continue;
      outbox.append(
        slots.idBytes,
        slot * AUCTION_ID_LENGTH,
        windowStart,
        this.last[slot]!,
        this.sum[slot]!,
        this.max[slot]!,
        this.min[slot]!,
        taken,
      );
      snapshots++;
      this.taken[slot] = 0;
      if (taken === samplesPerWindow && this.max[slot] === 0 && isIdle(slot)) slots.release(slot);
    }
    this.currentWindow = -1;
    this.options.onWindowClosed(windowStart, snapshots);
    return windowStart;
  }

  private schedule(now: number): void {
    const interval = this.options.intervalMs;
    const next = (Math.floor(now / interval) + 1) * interval;
    this.timer = setTimeout(this.tick, next - now);
  }

  /**
   * Takes the samples due at `now`: the last mark, and the marks a stalled event loop made the
   * timer miss (up to a window's worth), with the count now, the best one known, so that a
   * window does not lose samples to a busy process.
   */
  sampleDue(now: number): void {
    const { intervalMs, samplesPerWindow } = this.options;
    const due = now - (now % intervalMs);
    const first = this.lastSampleAt < 0 ? due : Math.max(this.lastSampleAt + intervalMs, due - (samplesPerWindow - 1) * intervalMs);
    for (let at = first; at <= due; at += intervalMs) this.sample(at);
  }

  private readonly tick = (): void => {
    const now = Date.now();
    this.sampleDue(now);
    this.schedule(now);
  };
}
