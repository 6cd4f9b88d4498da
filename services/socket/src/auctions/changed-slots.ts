/** A set of auction slots with no allocation after construction: each slot is listed once until drained. */
export class ChangedSlots {
  private readonly flagged: Uint8Array;
  private readonly list: Int32Array;
  private count = 0;

  constructor(capacity: number) {
    this.flagged = new Uint8Array(capacity);
    this.list = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  add(slot: number): void {
    if (this.flagged[slot] === 1) return;
    this.flagged[slot] = 1;
    this.list[this.count++] = slot;
  }

  /** Visits and removes every slot. `visit` must not add to this set (the list is reused in place). */
  drain(visit: (slot: number) => void): void {
    const count = this.count;
    this.count = 0;
    for (let i = 0; i < count; i++) {
      const slot = this.list[i]!;
      this.flagged[slot] = 0;
      visit(slot);
    }
  }
}
