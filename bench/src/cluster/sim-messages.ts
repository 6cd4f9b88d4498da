/** IPC between the runner and a simulation worker (sim-worker.ts): one reply per command. */

export interface SimSetup {
  readonly type: 'setup';
  readonly port: number;
  /** Key and channel prefix, as REDIS_KEY_PREFIX. */
  readonly prefix: string;
  /** The simulated processes this worker runs. */
  readonly processIds: readonly string[];
  readonly auctions: number;
  /** Count changes per tick over this worker's processes (its share of the cluster's). */
  readonly changesPerTick: number;
  readonly intervalMs: number;
  readonly heartbeatMs: number;
  readonly expireMs: number;
}

/** Begin ticking on the wall clock's marks. */
export interface SimStart {
  readonly type: 'start';
}

/** The measured window begins: counters and samples start from zero. */
export interface SimMark {
  readonly type: 'mark';
}

/** Stop ticking and report the measured window. */
export interface SimStop {
  readonly type: 'stop';
}

export type SimCommand = SimSetup | SimStart | SimMark | SimStop;

export interface SimReport {
  readonly seconds: number;
  readonly ticks: number;
  /** Messages published (MULTI … EXEC answered without error). */
  readonly published: number;
  readonly pairsPublished: number;
  readonly bytesPublished: number;
  /** Marks a process skipped because its previous write was still in flight (the real rule). */
  readonly skippedMarks: number;
  readonly failedWrites: number;
  /** Messages and bytes all this worker's subscribers received (own messages included, as Redis sends them). */
  readonly received: number;
  readonly receivedBytes: number;
  readonly receivedPairs: number;
  /** MULTI … EXEC round trip, ms. */
  readonly execMs: Float64Array;
  /** A message written (by a process of this worker) → read by each subscriber of this worker, ms. */
  readonly fanOutMs: Float64Array;
  /** How late the tick timer fired after its wall-clock mark, ms. */
  readonly tickLateMs: Float64Array;
}

export type SimReply =
  | { readonly id: number; readonly ok: true; readonly report: SimReport | undefined }
  | { readonly id: number; readonly ok: false; readonly error: string };

export interface SimRequest {
  readonly id: number;
  readonly command: SimCommand;
}
