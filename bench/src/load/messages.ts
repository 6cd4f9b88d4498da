import type { Target } from './raw-viewer.js';

/** Opens `count` viewers (viewer i watches auctions[i % length]) and keeps them open. */
export interface HoldCommand {
  readonly type: 'hold';
  readonly target: Target;
  readonly auctions: readonly string[];
  readonly count: number;
  /** Handshakes in flight at once. */
  readonly concurrency: number;
  readonly timeoutMs: number;
}

/** Closes every held viewer (close frame each) and waits for the connections to end. */
export interface ReleaseCommand {
  readonly type: 'release';
  readonly timeoutMs: number;
}

/** Frames and bytes received so far by the held viewers. */
export interface TrafficCommand {
  readonly type: 'traffic';
}

/**
 * Closed-loop churn: `concurrency` loops, each joins a random auction, waits for its first count,
 * leaves (close frame), waits for the connection to end, and starts again, until the time is up.
 */
export interface ChurnCommand {
  readonly type: 'churn';
  readonly target: Target;
  readonly auctions: readonly string[];
  readonly concurrency: number;
  readonly durationMs: number;
}

/**
 * Latency probes: `observers` viewers per auction, then repeatedly one more viewer joins (time t0
 * = before its TCP connect) and every observer's time to read the new count is recorded; the
 * joiner then leaves and the observers wait for the count to drop back before the next probe.
 */
export interface ProbeCommand {
  readonly type: 'probe';
  readonly target: Target;
  readonly auctions: readonly string[];
  readonly observers: number;
  readonly durationMs: number;
  /** Give up on one probe after this long (counted as a timeout). */
  readonly probeTimeoutMs: number;
  /**
   * Wait at least this long after the auction's previous change was seen before each join: the
   * join lands on an auction quiet for a broadcast interval. Absent: a random phase of 50–250 ms.
   */
  readonly quietMs?: number;
}

/** Closed-loop HTTP ingest load against the backend (ours or the Express peer). */
export interface IngestCommand {
  readonly type: 'ingest';
  readonly origin: string;
  readonly internalKey: string;
  readonly mode: 'single' | 'batch';
  readonly auctions: readonly string[];
  readonly batchSize: number;
  readonly concurrency: number;
  readonly durationMs: number;
  /** First window (epoch ms, minute-aligned): every request gets fresh (auction, window) pairs. */
  readonly firstWindowMs: number;
}

export type Command = HoldCommand | ReleaseCommand | TrafficCommand | ChurnCommand | ProbeCommand | IngestCommand;

export interface Request {
  readonly id: number;
  readonly command: Command;
}

export interface HoldResult {
  readonly opened: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly ms: number;
  /** Join times (connect → first count), ms. */
  readonly joinMs: Float64Array;
}

export interface ReleaseResult {
  readonly closed: number;
  readonly forced: number;
  readonly ms: number;
}

export interface TrafficResult {
  readonly viewers: number;
  readonly frames: number;
  readonly bytes: number;
}

export interface ChurnResult {
  readonly joins: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly ms: number;
  readonly joinMs: Float64Array;
}

export interface ProbeResult {
  readonly probes: number;
  readonly timeouts: number;
  /** Per observer and probe: t0 → this observer read the new count, ms. */
  readonly observerMs: Float64Array;
  /** Per probe: t0 → the last observer read the new count, ms. */
  readonly allSeenMs: Float64Array;
  readonly setupFailures: number;
}

export interface IngestResult {
  readonly requests: number;
  readonly stored: number;
  readonly notStored: number;
  readonly errors: number;
  readonly statuses: Record<string, number>;
  readonly ms: number;
  readonly latencyMs: Float64Array;
  readonly firstError: string | undefined;
}

export type Reply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

export interface Progress {
  readonly progress: true;
  readonly opened: number;
  readonly failed: number;
}

export type WorkerMessage = Reply | Progress;
