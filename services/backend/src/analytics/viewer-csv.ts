import { VIEWER_CSV_COLUMNS } from '@viewer-analytics/shared';
import { viewerMinutes, windowSketch, type SeriesWindow } from './range-summary.js';

/** Rows per chunk written to the socket: fewer, larger writes than one per window. */
const ROWS_PER_CHUNK = 500;

/** One stored window as a CSV row (only numbers and an ISO date: nothing to quote). */
function row(window: SeriesWindow, sampleIntervalMs: number): string {
  const uniques = window.uniqueViewers ?? windowSketch(window)?.estimate();
  return [
    window.timestamp.toISOString(),
    window.viewerCount,
    window.avgViewers,
    window.peakViewers,
    window.minViewers,
    window.sampleCount,
    viewerMinutes(window.avgViewers * window.sampleCount, sampleIntervalMs),
    uniques ?? '',
  ].join(',');
}

/**
 * The CSV of stored windows (oldest first, never merged): the header, then a row per window, in
 * chunks of ROWS_PER_CHUNK rows, so a 30-day export streams without being held in memory.
 * `first` is the windows' first result, already awaited by the caller (so a database that is
 * down still gets a 503 before any byte is sent); `rest` yields the others.
 */
export async function* viewerCsv(
  first: IteratorResult<SeriesWindow>,
  rest: AsyncIterator<SeriesWindow>,
  sampleIntervalMs: number,
): AsyncGenerator<string> {
  let chunk = `${VIEWER_CSV_COLUMNS.join(',')}\r\n`;
  let rows = 0;
  for (let next = first; next.done !== true; next = await rest.next()) {
    chunk += `${row(next.value, sampleIntervalMs)}\r\n`;
    rows += 1;
    if (rows === ROWS_PER_CHUNK) {
      yield chunk;
      chunk = '';
      rows = 0;
    }
  }
  if (chunk !== '') yield chunk;
}
