import type { ViewerPoint } from '@viewer-analytics/shared';

export interface ViewerStats {
  readonly peak: number;
  readonly average: number;
  readonly minimum: number;
  /** From the start of the first window to the end of the last one. */
  readonly durationMs: number;
}

/**
 * The dashboard's figures, computed in the browser from the points the server sends: peak and
 * minimum over all points, the average weighted by each point's samples, and the time covered
 * (from the first point's start to the last one's end, each `bucketMs` long).
 */
export function viewerStats(snapshots: readonly ViewerPoint[], bucketMs: number): ViewerStats | undefined {
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
  const first = Date.parse(snapshots[0]?.timestamp ?? '');
  const last = Date.parse(snapshots.at(-1)?.timestamp ?? '');
  return { peak, minimum, average: weighted / samples, durationMs: last - first + bucketMs };
}

export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${String(minutes)} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${String(hours)} h` : `${String(hours)} h ${String(rest)} min`;
}
