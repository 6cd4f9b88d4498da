import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AuctionSlots } from '../../src/auctions/auction-slots.js';
import { CountMessageEncoder } from '../../src/broadcast/count-message.js';
import { roundedAverage, writeAverage, writeIsoTimestamp, writeUint } from '../../src/encoding/ascii.js';

const text = (bytes: Uint8Array, end: number): string => Buffer.from(bytes.subarray(0, end)).toString('latin1');

describe('allocation-free writers', () => {
  it('writes integers as JSON does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 53 - 1 }), (value) => {
        const target = new Uint8Array(32);
        expect(text(target, writeUint(target, 0, value))).toBe(String(value));
      }),
    );
  });

  it('writes timestamps exactly as Date#toISOString, years 1970 to 9999, day after day', () => {
    fc.assert(
      // Each pair: a time, then one a little later, mostly the same day (the day's text is reused).
      fc.property(fc.integer({ min: 0, max: Date.parse('9999-12-30T23:59:59.999Z') }), fc.integer({ min: 0, max: 86_400_000 }), (ms, later) => {
        const target = new Uint8Array(24);
        for (const at of [ms, ms + later]) expect(text(target, writeIsoTimestamp(target, 0, at))).toBe(new Date(at).toISOString());
      }),
    );
  });

  it('writes averages rounded to four decimals, parsing back to roundedAverage', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 * 2 ** 31 }), fc.integer({ min: 1, max: 12 }), (sum, samples) => {
        const target = new Uint8Array(32);
        const written = text(target, writeAverage(target, 0, sum, samples));
        expect(written).toMatch(/^\d+(\.\d{1,3}[1-9])?$|^\d+\.[1-9]$/);
        expect(Number(written)).toBe(roundedAverage(sum, samples));
        expect(Math.abs(Number(written) - sum / samples)).toBeLessThanOrEqual(0.00005 + 1e-9);
      }),
    );
  });
});

describe('CountMessageEncoder', () => {
  it('encodes the viewerCountUpdate frame of the protocol for any count', () => {
    const slots = new AuctionSlots(2);
    const slot = slots.acquire('665f1c2a9b1e8a0012345678');
    const encoder = new CountMessageEncoder();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 4_102_444_800_000 }), (count, at) => {
        encoder.setTime(at);
        const frame = encoder.encode(slots.idBytes, slot * 24, count);
        expect(JSON.parse(Buffer.from(frame).toString())).toEqual({
          type: 'viewerCountUpdate',
          auctionId: '665f1c2a9b1e8a0012345678',
          count,
          at: new Date(at).toISOString(),
        });
      }),
    );
  });

  it('stamps each frame with the last time set, whether or not it repeats the previous one', () => {
    const slots = new AuctionSlots(1);
    const slot = slots.acquire('665f1c2a9b1e8a0012345678');
    const encoder = new CountMessageEncoder();
    fc.assert(
      // Small steps: repeats of the same millisecond (several joins in one) come often.
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 4_102_444_800_000 }), (steps, start) => {
        let at = start;
        for (const step of steps) {
          at += step;
          encoder.setTime(at);
          expect(JSON.parse(Buffer.from(encoder.encode(slots.idBytes, slot * 24, 1)).toString())).toHaveProperty('at', new Date(at).toISOString());
        }
      }),
    );
  });
});
