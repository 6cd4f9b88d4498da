import { describe, expect, it } from 'vitest';
import { AuctionSlots } from '../../src/auctions/auction-slots.js';
import { LocalViewerCounts } from '../../src/auctions/viewer-counts.js';
import { roundedAverage } from '../../src/encoding/ascii.js';
import { SnapshotOutbox } from '../../src/delivery/snapshot-outbox.js';
import { Sampler } from '../../src/sampling/sampler.js';

const INTERVAL = 5_000;
const SAMPLES = 12;
const WINDOW = INTERVAL * SAMPLES;
const T0 = Date.parse('2025-10-21T14:15:00.000Z');
const A = '665f1c2a9b1e8a0012345678';

function rig() {
  const slots = new AuctionSlots(8);
  const counts = new LocalViewerCounts(8);
  const outbox = new SnapshotOutbox(1_000);
  const closed: [number, number][] = [];
  const sampler = new Sampler({
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
  return { slots, counts, outbox, sampler, setCount, records, closed };
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
    const { slots, sampler, setCount, records } = rig();
    setCount(slots.acquire(A), 4);
    sampler.sampleDue(T0 + 3);
    sampler.sampleDue(T0 + 3 * INTERVAL + 1_234); // the loop was blocked past three marks
    sampler.sampleDue(T0 + 4 * INTERVAL - 1); // a timer a millisecond early takes nothing twice
    sampler.closeWindow();
    expect(records().map((r) => [r.timestamp, r.sampleCount])).toEqual([[new Date(T0).toISOString(), 4]]);
  });

  it('catches up at most one window after a very long stall', () => {
    const { slots, sampler, setCount, records } = rig();
    setCount(slots.acquire(A), 2);
    sampler.sampleDue(T0);
    sampler.sampleDue(T0 + 10 * WINDOW + 2 * INTERVAL);
    sampler.closeWindow();
    expect(records().map((r) => [r.timestamp, r.sampleCount])).toEqual([
      [new Date(T0).toISOString(), 1],
      [new Date(T0 + 9 * WINDOW).toISOString(), 9],
      [new Date(T0 + 10 * WINDOW).toISOString(), 3],
    ]);
  });
});
