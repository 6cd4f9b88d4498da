// Types only: the driver is needed to compile, never at run time (the pages import this package too).
import type { ObjectId } from 'mongodb';

/** The collection the backend stores snapshots in. */
export const VIEWER_ANALYTICS_COLLECTION = 'vieweranalytics';

/** One stored snapshot: the data model the backend writes, and what tests read back. */
export interface SnapshotDocument {
  auction: ObjectId;
  /** Start of the window, UTC. */
  timestamp: Date;
  viewerCount: number;
  avgViewers: number;
  peakViewers: number;
  minViewers: number;
  sampleCount: number;
  createdAt: Date;
  updatedAt: Date;
}
