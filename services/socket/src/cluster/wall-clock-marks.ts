export interface MarkTimer {
  stop(): void;
}

/**
 * Calls `tick` at every multiple of `intervalMs` on the wall clock, shifted by `offsetMs`. All
 * processes of a cluster publish their deltas on the same marks and broadcast a fixed offset
 * later, by when every delta has arrived: a join then reaches every process's viewers within one
 * interval plus the offset, instead of up to two intervals with timers at random phases.
 */
export function everyMark(intervalMs: number, offsetMs: number, tick: () => void): MarkTimer {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const sinceMark = (((Date.now() - offsetMs) % intervalMs) + intervalMs) % intervalMs;
    const delay = intervalMs - sinceMark;
    // A timer that fired a hair before its mark (the wall clock and the timers' clock drift
    // apart) would otherwise tick again at that same mark.
    timer = setTimeout(fire, delay <= 2 ? delay + intervalMs : delay);
  };
  const fire = (): void => {
    arm();
    tick();
  };
  arm();
  return {
    stop() {
      clearTimeout(timer);
    },
  };
}
