/**
 * From the simulation runs to a cluster the machine cannot hold, fitted by least squares over the
 * runs and applied to P processes sharing the same changes (1 % of the auctions per tick over the
 * cluster): messages published grow with P, deliveries (every subscriber gets every message)
 * with P². Bytes: a fixed part per published message plus a part per pair in; the replies per
 * message plus framing and payload per delivery out. CPU: a part per delivery plus a base for
 * the rest (the pairs, the same number whatever P, and the publishes, which grow only with P):
 * the runs cannot tell those two apart, since every run writes the same pairs per second.
 */
import type { SimResult } from '../scenarios/cluster-sim.js';
import { headerLength, PAIR_LENGTH } from '@viewer-analytics/socket/hot-paths';

export interface Projection {
  readonly processes: number;
  readonly publishedPerSecond: number;
  readonly pairsPerMessage: number;
  readonly messageBytes: number;
  readonly deliveredPerSecond: number;
  readonly redisCores: number;
  readonly bytesInPerSecond: number;
  readonly bytesOutPerSecond: number;
  /** The same figures measured, when a run had this many processes. */
  readonly measured: SimResult | undefined;
}

export interface CostModel {
  /** Redis cores for everything but the deliveries, and CPU-seconds per delivered message. */
  readonly cpuBase: number;
  readonly cpuPerDelivery: number;
  /** Bytes into Redis per published message (fixed part) and per pair. */
  readonly inPerPublish: number;
  readonly inPerPair: number;
  /** Bytes out of Redis per published message (the replies) and per delivery beyond its payload (framing). */
  readonly outPerPublish: number;
  readonly outPerDelivery: number;
}

/** Least squares y ≈ a·x1 + b·x2 (x1 = 1 gives an intercept). */
function fit2(rows: readonly (readonly [number, number, number])[]): [number, number] {
  let s11 = 0;
  let s12 = 0;
  let s22 = 0;
  let s1y = 0;
  let s2y = 0;
  for (const [x1, x2, y] of rows) {
    s11 += x1 * x1;
    s12 += x1 * x2;
    s22 += x2 * x2;
    s1y += x1 * y;
    s2y += x2 * y;
  }
  const det = s11 * s22 - s12 * s12;
  if (Math.abs(det) < 1e-12) return [Number.NaN, Number.NaN];
  return [(s1y * s22 - s2y * s12) / det, (s2y * s11 - s1y * s12) / det];
}

export function costModel(runs: readonly SimResult[]): CostModel {
  const [cpuBase, cpuPerDelivery] = fit2(runs.map((r) => [1, r.deliveredPerSecond, r.redis.cpuCores]));
  const [inPerPublish, inPerPair] = fit2(runs.map((r) => [r.publishedPerSecond, r.publishedPerSecond * r.pairsPerMessage, r.redis.bytesInPerSecond]));
  const [outPerPublish, outPerDelivery] = fit2(
    runs.map((r) => [r.publishedPerSecond, r.deliveredPerSecond, r.redis.bytesOutPerSecond - r.deliveredBytesPerSecond]),
  );
  return { cpuBase, cpuPerDelivery, inPerPublish, inPerPair, outPerPublish, outPerDelivery };
}

/** P processes, `changesPerTick` count changes per tick over the cluster, every process writing every tick. */
export function project(model: CostModel, processes: number, changesPerTick: number, intervalMs: number, runs: readonly SimResult[]): Projection {
  const ticksPerSecond = 1000 / intervalMs;
  const pairsPerMessage = changesPerTick / processes;
  const publishedPerSecond = processes * ticksPerSecond;
  const deliveredPerSecond = publishedPerSecond * processes;
  const messageBytes = headerLength(`sim-host:${processes - 1}`) + PAIR_LENGTH * pairsPerMessage;
  return {
    processes,
    publishedPerSecond,
    pairsPerMessage,
    messageBytes,
    deliveredPerSecond,
    redisCores: model.cpuBase + model.cpuPerDelivery * deliveredPerSecond,
    bytesInPerSecond: model.inPerPublish * publishedPerSecond + model.inPerPair * publishedPerSecond * pairsPerMessage,
    bytesOutPerSecond: model.outPerPublish * publishedPerSecond + (model.outPerDelivery + messageBytes) * deliveredPerSecond,
    measured: runs.find((r) => r.processes === processes),
  };
}
