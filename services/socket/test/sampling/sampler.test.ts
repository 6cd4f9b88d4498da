import { describe, expect, it } from 'vitest';
import { AuctionSlots } from '../../src/auctions/auction-slots.js';
import { LocalViewerCounts } from '../../src/auctions/viewer-counts.js';
import { roundedAverage } from '../../src/encoding/ascii.js';
import { SnapshotOutbox } from '../../src/delivery/snapshot-outbox.js';
import { Sampler, type SamplerClock } from '../../src/sampling/sampler.js';

const INTERVAL = 5_000;
const SAMPLES = 12;
const WINDOW = INTERVAL * SAMPLES;
const T0 = Date.parse('2025-10-21T14:15:00.000Z');
const A = '665f1c2a9b1e8a0012345678';

/** A wall clock a test can step, beside a monotonic clock only time moves. */
class SteppedClock implements SamplerClock {
  private monotonicNow = 1_000;

  constructor(private wallNow: number) {}

  wall(): number {
    return this.wallNow;
  }

  monotonic(): number {
    return this.monotonicNow;
  }

  /** Time passes: both clocks move. */
  pass(ms: number): void {
    this.wallNow += ms;
    this.monotonicNow += ms;
  }

  /** Someone sets the wall clock (NTP, an operator): only it moves. */
  step(ms: number): void {
    this.wallNow += ms;
  }
}

function rig(clock = new SteppedClock(T0)) {
  const slots = new AuctionSlots(8);
  const counts = new LocalViewerCounts(8);
  const outbox = new SnapshotOutbox({ maxRecords: 1_000, maxAgeMs: Number.POSITIVE_INFINITY });
  const closed: [number, number][] = [];
  const sampler = new Sampler({
    clock,
    slots,
    counts,
    outbox,
    intervalMs: INTERVAL,
    samplesPerWindow: SAMPLES,
    isIdle: (slot) => counts.countAt(slot) === 0,
    onWindowClosed: (start, n) => closed.push([start, n]),
  });
  const setCount = (slot: number, target: number): void => {
    while (counts.countAt(slot) < target) counts.join(slot);
    while (counts.countAt(slot) > target) counts.leave(slot);
  };
  const records = () => {
    const out = [];
    for (let seq = outbox.head; seq < outbox.tail; seq++) {
      out.push({
        id: Buffer.from(outbox.ids.subarray(outbox.idOffsetOf(seq), outbox.idOffsetOf(seq) + 24)).toString(),
        timestamp: new Date(outbox.windowStartOf(seq)).toISOString(),
        viewerCount: outbox.lastOf(seq),
        avg: roundedAverage(outbox.sumOf(seq), outbox.samplesOf(seq)),
        peak: outbox.peakOf(seq),
        min: outbox.minOf(seq),
        sampleCount: outbox.samplesOf(seq),
      });
    }
    return out;
  };
  /** Runs the sampler's timer for `ticks` ticks, as setTimeout would (on time unless `late`). */
  const run = (ticks: number, late = 0): void => {
    for (let i = 0; i < ticks; i++) clock.pass(sampler.sampleDue() + late);
  };
  return { slots, counts, outbox, sampler, setCount, records, closed, clock, run };
}

describe('Sampler', () => {
  // The spec's example says sum 5340 / avg 445, but its twelve samples add up to 5370.
  it("turns the spec's example minute into its snapshot: 420…475 → avg 447.5, peak 475, min 420", () => {
    const { slots, sampler, setCount, records } = rig();
    const slot = slots.acquire(A);
    const samples = [420, 425, 430, 435, 440, 445, 450, 455, 460, 465, 470, 475];
    samples.forEach((count, i) => {
      setCount(slot, count);
      sampler.sample(T0 + i * INTERVAL);
    });
    expect(records()).toEqual([]);
    sampler.sample(T0 + WINDOW);
    expect(records()).toEqual([
      { id: A, timestamp: '2025-10-21T14:15:00.000Z', viewerCount: 475, avg: 447.5, peak: 475, min: 420, sampleCount: 12 },
    ]);
  });

  it('starts a late auction with a partial window and ends a shutdown with one', () => {
    const { slots, sampler, setCount, records } = rig();
    sampler.sample(T0); // the server ticks before the auction exists
    const slot = slots.acquire(A);
    for (let i = 9; i < 12; i++) {
      setCount(slot, i - 7);
      sampler.sample(T0 + i * INTERVAL);
    }
    setCount(slot, 7);
    sampler.sample(T0 + WINDOW);
    sampler.sample(T0 + WINDOW + INTERVAL);
    expect(sampler.closeWindow()).toBe(T0 + WINDOW);
    expect(records()).toEqual([
      { id: A, timestamp: new Date(T0).toISOString(), viewerCount: 4, avg: 3, peak: 4, min: 2, sampleCount: 3 },
      { id: A, timestamp: new Date(T0 + WINDOW).toISOString(), viewerCount: 7, avg: 7, peak: 7, min: 7, sampleCount: 2 },
    ]);
  });

  it('keeps a deserted auction until one full window of zeros went out, then frees its slot', () => {
    const { slots, sampler, setCount, records } = rig();
    const slot = slots.acquire(A);
    setCount(slot, 3);
    sampler.sample(T0);
    setCount(slot, 0);
    for (let i = 1; i < 2 * SAMPLES; i++) sampler.sample(T0 + i * INTERVAL);
    // Window 1 held the 3; window 2 is all zeros, but it ends only with the first sample of window 3.
    expect(slots.slotOf(A)).toBe(slot);
    sampler.sample(T0 + 2 * WINDOW);
    expect(slots.slotOf(A)).toBe(-1);
    const byWindow = records().map((r) => [r.timestamp, r.peak, r.sampleCount]);
    expect(byWindow).toEqual([
      [new Date(T0).toISOString(), 3, 12],
      [new Date(T0 + WINDOW).toISOString(), 0, 12],
    ]);
  });

  it('does not free a slot someone joined again during the zero window', () => {
    const { slots, sampler, setCount } = rig();
    const slot = slots.acquire(A);
    for (let i = 0; i < SAMPLES; i++) sampler.sample(T0 + i * INTERVAL);
    setCount(slot, 1); // joined after the last zero sample, before the window closed
    sampler.sample(T0 + WINDOW);
    expect(slots.slotOf(A)).toBe(slot);
  });

  it('skips the window a previous process already flushed at shutdown', () => {
    const { slots, sampler, setCount, records } = rig();
    sampler.skipWindowsThrough(T0);
    const slot = slots.acquire(A);
    setCount(slot, 2);
    for (let i = 4; i <= SAMPLES + 1; i++) sampler.sample(T0 + i * INTERVAL);
    sampler.closeWindow();
    expect(records().map((r) => [r.timestamp, r.sampleCount])).toEqual([[new Date(T0 + WINDOW).toISOString(), 2]]);
  });

  it('takes each mark once even when a timer fires twice for it', () => {
    const { slots, sampler, setCount, records } = rig();
    const slot = slots.acquire(A);
    setCount(slot, 1);
    sampler.sample(T0);
    sampler.sample(T0);
    sampler.closeWindow();
    expect(records()[0]?.sampleCount).toBe(1);
  });

  it('takes the marks a stalled event loop made its timer miss, so the window stays full', () => {
    const { slots, sampler, setCount, records, clock } = rig(new SteppedClock(T0 + 3));
    setCount(slots.acquire(A), 4);
    clock.pass(sampler.sampleDue() + 2 * INTERVAL + 1_234); // the loop was blocked past two more marks
    clock.pass(sampler.sampleDue() - 1); // a timer a millisecond early takes the mark it was set for, once
    sampler.sampleDue();
    sampler.closeWindow();
    expect(records().map((r) => [r.timestamp, r.sampleCount])).toEqual([[new Date(T0).toISOString(), 5]]);
  });

  it('catches up at most one window after a very long stall', () => {
    const { slots, sampler, setCount, records, clock } = rig();
    setCount(slots.acquire(A), 2);
    clock.pass(sampler.sampleDue() + 10 * WINDOW + INTERVAL);
    sampler.sampleDue();
    sampler.closeWindow();
    expect(records().map((r) => [r.timestamp, r.sampleCount])).toEqual([
      [new Date(T0).toISOString(), 1],
      [new Date(T0 + 9 * WINDOW).toISOString(), 9],
      [new Date(T0 + 10 * WINDOW).toISOString(), 3],
    ]);
  });

  it('keeps sampling every interval when the wall clock steps back less than a window, and loses no sample', () => {
    const { slots, sampler, setCount, records, clock, run } = rig();
    setCount(slots.acquire(A), 3);
    run(20);
    clock.step(-40_000);
    run(40);
    // Ahead of the wall clock by the step at first, it is back on the wall clock's marks by now:
    // the sample due now is named by the wall clock, and the next is one interval away.
    expect(clock.wall() % INTERVAL).toBe(0);
    expect(sampler.sampleDue()).toBe(INTERVAL);
    sampler.closeWindow();
    const stored = records();
    // One sample per tick, each window at most full, no window named twice.
    expect(stored.reduce((sum, r) => sum + r.sampleCount, 0)).toBe(61);
    expect(Math.max(...stored.map((r) => r.sampleCount))).toBeLessThanOrEqual(SAMPLES);
    expect(new Set(stored.map((r) => r.timestamp)).size).toBe(stored.length);
  });

  it('keeps sampling every interval when the wall clock steps back an hour: windows follow the wall clock', () => {
    const { slots, sampler, setCount, records, clock, run } = rig();
    setCount(slots.acquire(A), 3);
    run(12); // one full window from T0
    clock.step(-3_600_000);
    run(12);
    sampler.closeWindow();
    expect(records().map((r) => [r.timestamp, r.sampleCount])).toEqual([
      [new Date(T0).toISOString(), 12],
      [new Date(T0 + WINDOW - 3_600_000).toISOString(), 12],
    ]);
  });

  it('makes up no samples when the wall clock jumps ahead: the open window closes early, sampling goes on', () => {
    const { slots, sampler, setCount, records, clock, run } = rig();
    setCount(slots.acquire(A), 3);
    run(5);
    clock.step(3_600_000);
    run(12);
    sampler.closeWindow();
    expect(records().map((r) => [r.timestamp, r.sampleCount])).toEqual([
      [new Date(T0).toISOString(), 5],
      [new Date(T0 + 3_600_000).toISOString(), 7],
      [new Date(T0 + 3_600_000 + WINDOW).toISOString(), 5],
    ]);
  });
});
