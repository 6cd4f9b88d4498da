/** Length of an auction id (a MongoDB ObjectId in lowercase hex). */
export const AUCTION_ID_LENGTH = 24;

/**
 * Gives every live auction a small integer slot, reused after the auction goes idle, so that
 * counting, sampling and broadcasting index flat typed arrays instead of maps of objects.
 * The capacity is fixed at start: nothing here allocates while the server runs, but for the
 * topic name made once per auction.
 */
export class AuctionSlots {
  readonly capacity: number;
  /** Slot → 1 while an auction holds it. */
  readonly active: Uint8Array;
  /** Slot → the auction id's ASCII bytes, at slot × 24, for encoders that must not build strings. */
  readonly idBytes: Uint8Array;
  /** One past the highest slot ever used: loops over slots stop here. */
  highWater = 0;

  private readonly ids: string[] = [];
  private readonly topics: string[] = [];
  private readonly slotById = new Map<string, number>();
  private readonly freeSlots: Int32Array;
  private freeCount = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.active = new Uint8Array(capacity);
    this.idBytes = new Uint8Array(capacity * AUCTION_ID_LENGTH);
    this.freeSlots = new Int32Array(capacity);
  }

  get size(): number {
    return this.slotById.size;
  }

  /** The auction's slot, or -1 when it holds none. */
  slotOf(auctionId: string): number {
    return this.slotById.get(auctionId) ?? -1;
  }

  /** The auction's slot, taking a free one if needed; -1 when every slot is taken. */
  acquire(auctionId: string): number {
    const existing = this.slotById.get(auctionId);
    if (existing !== undefined) return existing;
    let slot: number;
    if (this.freeCount > 0) slot = this.freeSlots[--this.freeCount] ?? -1;
    else if (this.highWater < this.capacity) slot = this.highWater++;
    else return -1;

    this.slotById.set(auctionId, slot);
    this.ids[slot] = auctionId;
    this.topics[slot] = auctionTopic(auctionId);
    this.active[slot] = 1;
    for (let i = 0; i < AUCTION_ID_LENGTH; i++) this.idBytes[slot * AUCTION_ID_LENGTH + i] = auctionId.charCodeAt(i);
    return slot;
  }

  release(slot: number): void {
    const auctionId = this.ids[slot];
    if (this.active[slot] !== 1 || auctionId === undefined) return;
    this.active[slot] = 0;
    this.slotById.delete(auctionId);
    this.freeSlots[this.freeCount++] = slot;
  }

  idOf(slot: number): string {
    const id = this.ids[slot];
    if (id === undefined) throw new RangeError(`slot ${slot} was never used`);
    return id;
  }

  topicOf(slot: number): string {
    const topic = this.topics[slot];
    if (topic === undefined) throw new RangeError(`slot ${slot} was never used`);
    return topic;
  }
}

/** The pub/sub topic of an auction's viewers. */
export function auctionTopic(auctionId: string): string {
  return `auction/${auctionId}`;
}
