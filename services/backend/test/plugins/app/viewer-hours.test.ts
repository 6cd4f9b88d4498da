import { describe, expect, it } from 'vitest';
import { hourSpan, keep } from '../../../src/plugins/app/viewer-hours.js';

const HOUR = 3_600_000;

describe('hourSpan', () => {
  it("finds the first and last of more hours than a spread into Math.min takes (an admin's 90 days of many auctions)", () => {
    const hours = Array.from({ length: 300_000 }, (_, i) => ((i * 7_919) % 300_000) * HOUR);
    expect(() => Math.min(...hours)).toThrow(RangeError);
    expect(hourSpan(hours)).toEqual({ first: 0, last: 299_999 * HOUR });
    expect(hourSpan([5 * HOUR])).toEqual({ first: 5 * HOUR, last: 5 * HOUR });
  });
});

describe('keep', () => {
  it('holds at most its limit, forgetting the entry held longest, and counts a key set again as new', () => {
    const held = new Map<string, number>();
    for (const [i, key] of ['a', 'b', 'c'].entries()) expect(keep(held, key, i, 3)).toBe(i);
    keep(held, 'a', 10, 3); // held again: now the newest
    keep(held, 'd', 3, 3);
    expect([...held]).toEqual([['c', 2], ['a', 10], ['d', 3]]);
  });
});
