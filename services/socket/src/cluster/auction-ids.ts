import type { AuctionSlots } from '../auctions/auction-slots.js';
import { AUCTION_ID_LENGTH } from '../auctions/auction-slots.js';

/** An auction id (an ObjectId) on the wire between processes: 12 raw bytes instead of 24 hex characters. */
export const RAW_ID_LENGTH = AUCTION_ID_LENGTH / 2;

const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');

function hexValue(charCode: number): number {
  // '0'..'9' → 0..9, 'a'..'f' → 10..15: auction ids are lowercase hex.
  return charCode <= 57 ? charCode - 48 : charCode - 87;
}

/** Writes the slot's auction id as 12 raw bytes at `target[offset]`. */
export function writeRawId(slots: AuctionSlots, slot: number, target: Uint8Array, offset: number): void {
  const hex = slots.idBytes;
  const base = slot * AUCTION_ID_LENGTH;
  for (let i = 0; i < RAW_ID_LENGTH; i++) {
    target[offset + i] = (hexValue(hex[base + 2 * i]!) << 4) | hexValue(hex[base + 2 * i + 1]!);
  }
}

/**
 * Finds the slot of an auction named by 12 raw bytes without building its id string: an
 * open-addressing table of slots, each hit checked against the slot's id (a slot freed and
 * taken by another auction simply stops matching). A string is built only for an auction this
 * process has not seen yet, once.
 */
export class AuctionIdIndex {
  private readonly table: Int32Array;
  private readonly mask: number;
  /** Entries written, stale ones included; past half the table it is rebuilt from the live slots. */
  private entries = 0;

  constructor(private readonly slots: AuctionSlots) {
    let size = 1024;
    while (size < slots.capacity * 4) size *= 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
  }

  /** The slot of the auction at `bytes[offset..offset+12]`, taking a free one if needed; -1 when every slot is taken. */
  slotFor(bytes: Buffer, offset: number): number {
    let i = hash(bytes, offset) & this.mask;
    for (let entry = this.table[i]!; entry !== 0; entry = this.table[i]!) {
      if (this.matches(entry - 1, bytes, offset)) return entry - 1;
      i = (i + 1) & this.mask;
    }
    const slot = this.slots.acquire(bytes.toString('hex', offset, offset + RAW_ID_LENGTH));
    if (slot < 0) return -1;
    this.table[i] = slot + 1;
    if (++this.entries * 2 > this.table.length) this.rebuild();
    return slot;
  }

  private matches(slot: number, bytes: Uint8Array, offset: number): boolean {
    if (this.slots.active[slot] !== 1) return false;
    const hex = this.slots.idBytes;
    const base = slot * AUCTION_ID_LENGTH;
    for (let i = 0; i < RAW_ID_LENGTH; i++) {
      const byte = bytes[offset + i]!;
      if (hex[base + 2 * i] !== HEX_DIGITS[byte >> 4] || hex[base + 2 * i + 1] !== HEX_DIGITS[byte & 15]) return false;
    }
    return true;
  }

  private rebuild(): void {
    this.table.fill(0);
    this.entries = 0;
    const raw = Buffer.alloc(RAW_ID_LENGTH);
    for (let slot = 0; slot < this.slots.highWater; slot++) {
      if (this.slots.active[slot] !== 1) continue;
      writeRawId(this.slots, slot, raw, 0);
      let i = hash(raw, 0) & this.mask;
      while (this.table[i] !== 0) i = (i + 1) & this.mask;
      this.table[i] = slot + 1;
      this.entries++;
    }
  }
}

/** FNV-1a over the 12 bytes. */
function hash(bytes: Uint8Array, offset: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < RAW_ID_LENGTH; i++) h = Math.imul(h ^ bytes[offset + i]!, 0x01000193);
  return h >>> 0;
}
