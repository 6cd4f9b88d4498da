import type { StoredSnapshot } from '@viewer-analytics/shared';

export interface ViewerStats {
  readonly peak: number;
  readonly average: number;
  readonly minimum: number;
  /** From the start of the first window to the end of the last one. */
  readonly durationMs: number;
}

const DEFAULT_WINDOW_MS = 60_000;

/**
 * The dashboard's figures, computed in the browser (the server only lists snapshots): peak and
 * minimum over all windows, the average weighted by each window's samples, and the time covered.
 */
export function viewerStats(snapshots: readonly StoredSnapshot[]): ViewerStats | undefined {
  if (snapshots.length === 0) return undefined;
  let peak = 0;
  let minimum = Number.POSITIVE_INFINITY;
  let weighted = 0;
  let samples = 0;
  for (const snapshot of snapshots) {
    peak = Math.max(peak, snapshot.peakViewers);
    minimum = Math.min(minimum, snapshot.minViewers);
    weighted += snapshot.avgViewers * snapshot.sampleCount;
    samples += snapshot.sampleCount;
  }
  const times = snapshots.map((snapshot) => Date.parse(snapshot.timestamp));
  const first = times[0] ?? 0;
  const last = times.at(-1) ?? 0;
  return { peak, minimum, average: weighted / samples, durationMs: last - first + windowLength(times) };
}

/** The snapshots' window: the smallest gap between two of them (one minute when unknown). */
function windowLength(times: readonly number[]): number {
  let smallest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
    if (gap > 0 && gap < smallest) smallest = gap;
  }
  return Number.isFinite(smallest) ? smallest : DEFAULT_WINDOW_MS;
}

export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${String(minutes)} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${String(hours)} h` : `${String(hours)} h ${String(rest)} min`;
}
