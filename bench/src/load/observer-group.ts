import { performance } from 'node:perf_hooks';
import type { RawViewer, ViewerListener } from './raw-viewer.js';

/**
 * The observers of one probe auction, and when each read the count a probe expects: a viewer's
 * `tag` is its index here. The latency probes (one process, and across processes) share it.
 */
export class ObserverGroup {
  readonly observers: RawViewer[] = [];
  seenAt = new Float64Array(0);
  private expected = -1;
  private remaining = 0;
  private wake: (() => void) | undefined;

  constructor(readonly auctionId: string) {}

  /** An observer read `count` (at join or from an update). */
  see(viewer: RawViewer, count: number): void {
    if (count !== this.expected || this.seenAt[viewer.tag] !== 0) return;
    this.seenAt[viewer.tag] = performance.now();
    if (--this.remaining === 0) this.wake?.();
  }

  /** Resolves true once every observer read `expected`, false after `timeoutMs`. */
  expect(expected: number, timeoutMs: number): Promise<boolean> {
    this.expected = expected;
    if (this.seenAt.length === this.observers.length) this.seenAt.fill(0);
    else this.seenAt = new Float64Array(this.observers.length);
    this.remaining = this.observers.length;
    const now = performance.now();
    for (const observer of this.observers) {
      if (observer.count === expected) {
        this.seenAt[observer.tag] = now;
        this.remaining--;
      }
    }
    return new Promise((resolve) => {
      if (this.remaining === 0) {
        resolve(true);
        return;
      }
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(true);
      };
    });
  }
}

/** What the observers of these groups listen with: each count they read goes to their auction's group. */
export function observerListener(groups: ReadonlyMap<string, ObserverGroup>): ViewerListener {
  const see = (viewer: RawViewer, count: number): void => {
    groups.get(viewer.auctionId)?.see(viewer, count);
  };
  return {
    joined: (viewer) => {
      see(viewer, viewer.count);
    },
    update: see,
  };
}
