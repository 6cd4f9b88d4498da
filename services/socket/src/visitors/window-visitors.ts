import { VisitorSketch } from '@viewer-analytics/shared';

/** Hands every viewer still connected to `add` (its slot and visitor key). */
export type ConnectedVisitors = (add: (slot: number, key: number) => void) => void;

/**
 * The distinct visitors of each live auction in the sampler's open window: one VisitorSketch per
 * slot, created when the slot first has a visitor and reused (cleared) for every later window and
 * auction of that slot. When a window closes, each viewer still connected counts in the next one
 * too: they were there.
 */
export class WindowVisitors {
  private readonly sketches: (VisitorSketch | undefined)[] = [];
  /** Called with each (slot, key) that changed a sketch: what the cluster shares with the other processes. */
  onChange: ((slot: number, key: number) => void) | undefined;

  constructor(private readonly connected: ConnectedVisitors) {}

  /** Counts a visitor of the slot's auction in the open window; true when it was not counted yet. */
  add(slot: number, key: number): boolean {
    const changed = this.sketchFor(slot).add(key);
    if (changed) this.onChange?.(slot, key);
    return changed;
  }

  /** Counts a key another process saw, without sharing it again. */
  addShared(slot: number, key: number): void {
    this.sketchFor(slot).add(key);
  }

  /** The slot's distinct visitors in the closing window. */
  count(slot: number): number {
    return this.sketches[slot]?.estimate() ?? 0;
  }

  /** The slot's sketch of the closing window (the outbox copies its bytes), or null when nobody came. */
  sketchOf(slot: number): VisitorSketch | null {
    const sketch = this.sketches[slot];
    // A dense sketch is never empty (clear() makes it exact again): only an exact one, whose estimate is its length, is asked.
    return sketch === undefined || (sketch.isExact() && sketch.estimate() === 0) ? null : sketch;
  }

  /** The window closed: every sketch is emptied, then every viewer still connected counts in the next one. */
  nextWindow(): void {
    for (let slot = 0; slot < this.sketches.length; slot++) this.sketches[slot]?.clear();
    this.connected(this.addConnected);
  }

  private sketchFor(slot: number): VisitorSketch {
    let sketch = this.sketches[slot];
    if (sketch === undefined) {
      sketch = new VisitorSketch();
      this.sketches[slot] = sketch;
    }
    return sketch;
  }

  private readonly addConnected = (slot: number, key: number): void => {
    this.add(slot, key);
  };
}
