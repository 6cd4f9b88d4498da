/**
 * Is a soak series flat? The warm-up is left out; what follows is compared early against late,
 * with a tolerance taken from the series' own sample-to-sample noise.
 */

export interface Point {
  /** Seconds since the soak started. */
  readonly t: number;
  readonly value: number;
}

export interface Trend {
  /** Mean of the first `edgeSeconds` (warm-up included: where the series started). */
  readonly firstMean: number;
  /** Mean of the last `edgeSeconds`. */
  readonly lastMean: number;
  readonly edgeSeconds: number;
  /** Least-squares slope after the warm-up, per minute. */
  readonly slopePerMinute: number;
  /**
   * Sample-to-sample noise after the warm-up: √(mean of squared successive differences / 2), the
   * standard deviation of one sample about the local level. Successive differences leave a slow
   * trend out, so a leak does not inflate its own tolerance.
   */
  readonly noise: number;
  /** Mean of the early part after the warm-up (10 minutes: minutes 2–4). */
  readonly earlyMean: number;
  /** Mean of the late part (10 minutes: the last 3). */
  readonly lateMean: number;
  /** (late − early) / early, %. */
  readonly changePercent: number;
  /** Allowed |late − early|: 3 × noise, at least 2 % of the early mean; as a % of the early mean. */
  readonly tolerancePercent: number;
  readonly flat: boolean;
}

/**
 * The parts of a soak the verdict compares: the first and the last third of what follows the
 * warm-up (10 minutes with a 1-minute warm-up: minutes 2–4 against the last 3).
 */
export function trendWindows(totalSeconds: number, warmupSeconds: number): { early: [number, number]; late: [number, number] } {
  const third = (totalSeconds - warmupSeconds) / 3;
  return { early: [warmupSeconds, warmupSeconds + third], late: [totalSeconds - third, totalSeconds] };
}

const NOISE_FACTOR = 3;
const MIN_TOLERANCE = 0.02;

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

function slope(points: readonly Point[]): number {
  const mt = mean(points.map((p) => p.t));
  const mv = mean(points.map((p) => p.value));
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.value - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export function trend(points: readonly Point[], totalSeconds: number, warmupSeconds: number): Trend {
  const edgeSeconds = Math.min(60, totalSeconds / 6);
  const valuesIn = (from: number, to: number): number[] => points.filter((p) => p.t >= from && p.t <= to).map((p) => p.value);
  const steady = points.filter((p) => p.t >= warmupSeconds);
  let squares = 0;
  for (let i = 1; i < steady.length; i++) squares += ((steady[i]?.value ?? 0) - (steady[i - 1]?.value ?? 0)) ** 2;
  const noise = steady.length > 1 ? Math.sqrt(squares / (2 * (steady.length - 1))) : Number.NaN;
  const { early, late } = trendWindows(totalSeconds, warmupSeconds);
  const earlyMean = mean(valuesIn(early[0], early[1]));
  const lateMean = mean(valuesIn(late[0], late[1]));
  const tolerance = Math.max(NOISE_FACTOR * noise, MIN_TOLERANCE * Math.abs(earlyMean));
  return {
    firstMean: mean(valuesIn(0, edgeSeconds)),
    lastMean: mean(valuesIn(totalSeconds - edgeSeconds, totalSeconds)),
    edgeSeconds,
    slopePerMinute: slope(steady) * 60,
    noise,
    earlyMean,
    lateMean,
    changePercent: ((lateMean - earlyMean) / Math.abs(earlyMean)) * 100,
    tolerancePercent: (tolerance / Math.abs(earlyMean)) * 100,
    flat: Math.abs(lateMean - earlyMean) <= tolerance,
  };
}
