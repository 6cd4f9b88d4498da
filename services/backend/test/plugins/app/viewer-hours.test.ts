import { describe, expect, it } from 'vitest';
import { hourSpan } from '../../../src/plugins/app/viewer-hours.js';

const HOUR = 3_600_000;

describe('hourSpan', () => {
  it("finds the first and last of more hours than a spread into Math.min takes (an admin's 90 days of many auctions)", () => {
    const hours = Array.from({ length: 300_000 }, (_, i) => ((i * 7_919) % 300_000) * HOUR);
    expect(() => Math.min(...hours)).toThrow(RangeError);
    expect(hourSpan(hours)).toEqual({ first: 0, last: 299_999 * HOUR });
    expect(hourSpan([5 * HOUR])).toEqual({ first: 5 * HOUR, last: 5 * HOUR });
  });
});
