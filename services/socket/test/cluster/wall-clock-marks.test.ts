import { describe, expect, it } from 'vitest';
import { everyMark } from '../../src/cluster/wall-clock-marks.js';

describe('everyMark', () => {
  it('ticks on the wall clock marks of the interval, shifted by the offset, once per mark', async () => {
    const at: number[] = [];
    const timer = everyMark(50, 20, () => at.push(Date.now()));
    await new Promise((resolve) => setTimeout(resolve, 530));
    timer.stop();
    expect(at.length).toBeGreaterThanOrEqual(9);
    expect(at.length).toBeLessThanOrEqual(11);
    // The nearest mark: timers may fire a millisecond before it by the wall clock.
    const marks = at.map((time) => Math.round((time - 20) / 50));
    expect(new Set(marks).size).toBe(marks.length);
    at.forEach((time, i) => {
      const fromMark = time - 20 - marks[i]! * 50;
      expect(fromMark).toBeGreaterThanOrEqual(-2);
      expect(fromMark).toBeLessThan(25); // Late by a few ms on a busy machine.
    });
  });
});
