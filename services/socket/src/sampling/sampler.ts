import type { AuctionSlots } from '../auctions/auction-slots.js';
import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';
import type { ViewerCountSource } from '../auctions/viewer-counts.js';
import { UNKNOWN_UNIQUES, type SnapshotOutbox } from '../delivery/snapshot-outbox.js';
import type { WindowVisitors } from '../visitors/window-visitors.js';

export interface SamplerClock {
  /** Wall-clock time (ms since the epoch): it names samples and windows, nothing else. */
  wall(): number;
  /** Monotonic time (ms): it times the intervals; a step of the wall clock does not move it. */
  monotonic(): number;
}

const systemClock: SamplerClock = { wall: () => Date.now(), monotonic: () => performance.now() };

export interface SamplerOptions {
  readonly slots: AuctionSlots;
  readonly counts: ViewerCountSource;
  readonly outbox: SnapshotOutbox;
  /** The distinct visitors of each auction in the open window; absent, snapshots carry none. */
  readonly visitors?: WindowVisitors;
  readonly intervalMs: number;
  readonly samplesPerWindow: number;
  /** True when no viewer of this process watches the slot's auction, so it may be freed. */
  readonly isIdle: (slot: number) => boolean;
  /** Called after a window's snapshots went into the outbox. */
  readonly onWindowClosed: (windowStart: number, snapshots: number) => void;
  /** The system's clocks unless a test steps them. */
  readonly clock?: SamplerClock;
}

/**
 * Every interval, on the wall clock's marks, adds each live auction's count to its window
 * (min, max, sum, last, samples: flat typed arrays, one slot per auction, reused). When a new
 * window begins, the finished one goes into the outbox as one snapshot per auction. An auction
 * nobody watches is sampled until one full window of zeros went out; then its slot is freed.
 *
 * The monotonic clock decides how many samples are due, the wall clock only what they are
 * called, so that a step of the wall clock neither stops sampling nor makes up samples:
 * - a step back of less than a window: the marks go on from the last one, ahead of the wall
 *   clock by at most the step, and the timer waits up to half an interval longer each tick
 *   until the wall clock has caught up;
 * - a step back of a window or more: the open window closes and the marks follow the wall
 *   clock again (a window named again is stored once: the backend keeps the first snapshot);
 * - a jump ahead: the open window closes early and the next sample takes the mark the wall
 *   clock names; the marks jumped over get no samples (nothing happened to fill them).
 */
export class Sampler {
  readonly windowMs: number;
  private readonly min: Int32Array;
  private readonly max: Int32Array;
  private readonly sum: Float64Array;
  private readonly last: Int32Array;
  private readonly taken: Uint8Array;
  private readonly clock: SamplerClock;
  private currentWindow = -1;
  private lastSampleAt = -1;
  /** When (monotonic) the timer was set to fire; -1 before the first tick. */
  private dueAt = -1;
  private skipThrough = -1;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SamplerOptions) {
    const capacity = options.slots.capacity;
    this.clock = options.clock ?? systemClock;
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

  /** The open window's start, or -1 when none is open (before the first sample, after the last). */
  get openWindow(): number {
    return this.currentWindow;
  }

  start(): void {
    const interval = this.options.intervalMs;
    const wall = this.clock.wall();
    this.arm((Math.floor(wall / interval) + 1) * interval - wall);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Takes the sample due at `at`, a multiple of the interval. */
  sample(at: number): void {
    const windowStart = at - (at % this.windowMs);
    // A mark taken already, or an earlier one of the same window, would give the window more
    // samples than it has marks. An earlier window is fine: the wall clock stepped back.
    if (at <= this.lastSampleAt && windowStart === this.lastSampleAt - (this.lastSampleAt % this.windowMs)) return;
    this.lastSampleAt = at;
    if (windowStart !== this.currentWindow) {
      this.closeWindow(windowStart);
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
   * window) and returns the window's start, or -1 when no window was open. `next`: the window
   * the closing sample opens (-1 at shutdown).
   */
  closeWindow(next = -1): number {
    const windowStart = this.currentWindow;
    if (windowStart < 0) return -1;
    const { slots, outbox, visitors, samplesPerWindow, isIdle } = this.options;
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
        visitors === undefined ? UNKNOWN_UNIQUES : visitors.count(slot),
        visitors?.sketchOf(slot) ?? null,
      );
      snapshots++;
      this.taken[slot] = 0;
      if (taken === samplesPerWindow && this.max[slot] === 0 && isIdle(slot)) slots.release(slot);
    }
    // Set before the carry-over: the visitors still connected count in (and are shared as of) the next window.
    this.currentWindow = next;
    visitors?.nextWindow();
    this.options.onWindowClosed(windowStart, snapshots);
    return windowStart;
  }

  /**
   * Takes the samples due now and returns the delay (ms) until the next ones: the mark the timer
   * fired for, and the marks a stalled event loop made it miss (as many as the monotonic clock
   * says passed, up to a window's worth), with the count now, the best one known, so that a
   * window does not lose samples to a busy process.
   */
  sampleDue(): number {
    const { intervalMs, samplesPerWindow } = this.options;
    const wall = this.clock.wall();
    const monotonic = this.clock.monotonic();
    // Nearest, not last: a timer may fire a little before its mark.
    const mark = Math.round(wall / intervalMs) * intervalMs;
    const missed = this.dueAt < 0 ? 0 : Math.min(samplesPerWindow - 1, Math.max(0, Math.round((monotonic - this.dueAt) / intervalMs)));
    if (this.lastSampleAt < 0) this.sample(mark);
    else if (mark > this.lastSampleAt) {
      for (let at = Math.max(this.lastSampleAt + intervalMs, mark - missed * intervalMs); at <= mark; at += intervalMs) this.sample(at);
    } else if (this.lastSampleAt - mark < this.windowMs) this.sample(this.lastSampleAt + intervalMs);
    else this.sample(mark);
    // Aimed at the wall clock's next mark, but never less than half an interval nor more than
    // one and a half away: how a sampler ahead of a stepped-back wall clock lets it catch up.
    const delay = Math.min(Math.max(this.lastSampleAt + intervalMs - wall, intervalMs / 2), intervalMs * 1.5);
    this.dueAt = monotonic + delay;
    return delay;
  }

  private arm(delay: number): void {
    this.dueAt = this.clock.monotonic() + delay;
    this.timer = setTimeout(this.tick, delay);
  }

  private readonly tick = (): void => {
    this.timer = setTimeout(this.tick, this.sampleDue());
  };
}
