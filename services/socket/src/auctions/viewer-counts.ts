/**
 * Where an auction's viewer count comes from. Sampling and broadcasting read counts only through
 * this interface, so that a cluster-wide source (per-process counts summed through Redis) can
 * replace the local one without touching them.
 */
export interface ViewerCountSource {
  countAt(slot: number): number;
  /** Visits every slot whose count may have changed since the previous call, once each. */
  forEachChanged(visit: (slot: number) => void): void;
}

/** This process's own viewers per auction slot: the server's counters, never uWS's. */
export class LocalViewerCounts implements ViewerCountSource {
  private readonly live: Int32Array;
  private readonly changed: Uint8Array;
  private readonly changedList: Int32Array;
  private changedCount = 0;
  private total = 0;

  constructor(capacity: number) {
    this.live = new Int32Array(capacity);
    this.changed = new Uint8Array(capacity);
    this.changedList = new Int32Array(capacity);
  }

  /** Open viewers over all auctions of this process. */
  get connections(): number {
    return this.total;
  }

  join(slot: number): number {
    this.total++;
    this.markChanged(slot);
    return ++this.live[slot]!;
  }

  leave(slot: number): number {
    this.total--;
    this.markChanged(slot);
    return --this.live[slot]!;
  }

  countAt(slot: number): number {
    return this.live[slot] ?? 0;
  }

  forEachChanged(visit: (slot: number) => void): void {
    const count = this.changedCount;
    this.changedCount = 0;
    for (let i = 0; i < count; i++) {
      const slot = this.changedList[i]!;
      this.changed[slot] = 0;
      visit(slot);
    }
  }

  private markChanged(slot: number): void {
    if (this.changed[slot] === 1) return;
    this.changed[slot] = 1;
    this.changedList[this.changedCount++] = slot;
  }
}
