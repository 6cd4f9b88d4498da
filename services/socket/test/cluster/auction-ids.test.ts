import { describe, expect, it } from 'vitest';
import { AuctionSlots } from '../../src/auctions/auction-slots.js';
import { AuctionIdIndex, RAW_ID_LENGTH, writeRawId } from '../../src/cluster/auction-ids.js';
import { auctionId } from './cluster-node.js';

function raw(id: string): Buffer {
  return Buffer.from(id, 'hex');
}

describe('auction ids as raw bytes', () => {
  it('writes a slot id as the 12 bytes of its hex', () => {
    const slots = new AuctionSlots(4);
    const slot = slots.acquire('65a1f0c2e4b0a1b2c3d4e5f6');
    const target = Buffer.alloc(RAW_ID_LENGTH + 2);
    writeRawId(slots, slot, target, 2);
    expect(target.subarray(2).toString('hex')).toBe('65a1f0c2e4b0a1b2c3d4e5f6');
  });

  it('finds the slot of a known auction, takes one for a new auction, and -1 when all are taken', () => {
    const slots = new AuctionSlots(3);
    const index = new AuctionIdIndex(slots);
    const known = slots.acquire(auctionId(7));
    expect(index.slotFor(raw(auctionId(7)), 0)).toBe(known);
    const added = index.slotFor(raw(auctionId(8)), 0);
    expect(slots.idOf(added)).toBe(auctionId(8));
    expect(index.slotFor(raw(auctionId(8)), 0)).toBe(added);
    index.slotFor(raw(auctionId(9)), 0);
    expect(index.slotFor(raw(auctionId(10)), 0)).toBe(-1);
  });

  it('never answers with a slot freed and taken by another auction, across many reuses and rebuilds', () => {
    const slots = new AuctionSlots(8);
    const index = new AuctionIdIndex(slots);
    for (let n = 0; n < 10_000; n++) {
      const slot = index.slotFor(raw(auctionId(n)), 0);
      expect(slots.idOf(slot)).toBe(auctionId(n));
      if (n >= 4) {
        // Keep four auctions live: the oldest goes, as the sampler frees idle ones.
        const old = slots.slotOf(auctionId(n - 4));
        slots.release(old);
        expect(index.slotFor(raw(auctionId(n - 3)), 0)).toBe(slots.slotOf(auctionId(n - 3)));
      }
    }
  });
});
