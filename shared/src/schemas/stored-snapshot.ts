// Types only: the driver is needed to compile, never at run time (the pages import this package too).
import type { Binary, ObjectId } from 'mongodb';

/** The collection the backend stores snapshots in. */
export const VIEWER_ANALYTICS_COLLECTION = 'vieweranalytics';

/**
 * A stored snapshot's `_id`: its auction and window, `<auction hex>:<window start, ms since the
 * epoch>`. A window has one key, so a short range is read as lookups by key, which every
 * MongoDB-compatible server indexes (FerretDB 1.x indexes nothing else a query can use).
 */
export function snapshotKey(auctionHex: string, windowStartMs: number): string {
  return `${auctionHex.toLowerCase()}:${String(windowStartMs)}`;
}

/** One stored snapshot: the data model the backend writes, and what tests read back. */
export interface SnapshotDocument {
  /** snapshotKey(auction, timestamp). */
  _id: string;
  auction: ObjectId;
  /** Start of the window, UTC. */
  timestamp: Date;
  viewerCount: number;
  avgViewers: number;
  peakViewers: number;
  minViewers: number;
  sampleCount: number;
  /** Distinct visitors in the window, whole cluster: the estimate of `visitors`. Absent in older snapshots. */
  uniqueViewers?: number;
  /** The window's VisitorSketch (its toBytes()), merged to count uniques over a range. Absent in older snapshots. */
  visitors?: Binary;
  createdAt: Date;
  updatedAt: Date;
}
