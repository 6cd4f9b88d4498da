import { ChangedSlots } from './changed-slots.js';

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
  private readonly changed: ChangedSlots;
  private total = 0;

  constructor(capacity: number) {
    this.live = new Int32Array(capacity);
    this.changed = new ChangedSlots(capacity);
  }

  /** Open viewers over all auctions of this process. */
  get connections(): number {
    return this.total;
  }

  join(slot: number): number {
    this.total++;
    this.changed.add(slot);
    return ++this.live[slot]!;
  }

  leave(slot: number): number {
    this.total--;
    this.changed.add(slot);
    return --this.live[slot]!;
  }

  countAt(slot: number): number {
    return this.live[slot] ?? 0;
  }

  forEachChanged(visit: (slot: number) => void): void {
    this.changed.drain(visit);
  }
}
