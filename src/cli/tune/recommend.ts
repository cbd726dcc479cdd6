/**
 * `sluice tune`'s verdict: a pool size (the knee of the curve), or no pool
 * when no size beats running the task without one. Pure, so it is tested on
 * made-up measurements.
 */

import { findKnee, type Knee, type TunePoint } from './knee.js';

/** A way to run the task without a worker pool, as measured (baselines.ts). */
export interface BaselinePoint {
  readonly id: string;
  readonly label: string;
  readonly throughput: number;
  /** Tasks that failed: a baseline with any is not a way to run the task. */
  readonly failed: number;
}

export type Recommendation =
  | { readonly pool: true; readonly knee: Knee; readonly line: string }
  | { readonly pool: false; readonly knee: Knee; readonly baseline: BaselinePoint; readonly line: string };

/**
 * The recommended size must beat the best baseline by more than this
 * fraction to pay for itself (the knee's own tolerance: closer than this is
 * noise, and the pool costs threads, memory and copies for nothing).
 */
export const POOL_MUST_GAIN = 0.05;

/**
 * The knee of the pool sizes, unless a baseline (in the order given, the
 * simplest first) gets within POOL_MUST_GAIN of the knee's throughput or of
 * the best baseline's, whichever is higher: then the simplest baseline that
 * does. The knee, not the fastest size: it is the size that would be
 * recommended, larger ones having been judged not worth their latency.
 */
export function recommend(points: readonly TunePoint[], baselines: readonly BaselinePoint[], cpus: number): Recommendation {
  const knee = findKnee(points);
  const atKnee = points[knee.index] as TunePoint;
  const usable = baselines.filter((b) => b.failed === 0 && Number.isFinite(b.throughput) && b.throughput > 0);
  const best = Math.max(atKnee.throughput, ...usable.map((b) => b.throughput));
  const pick = usable.find((b) => b.throughput >= (1 - POOL_MUST_GAIN) * best);
  const cpuNote = `${cpus} CPU${cpus === 1 ? '' : 's'}`;
  if (pick === undefined) return { pool: true, knee, line: `recommended size: ${knee.workers} (${knee.reason}; ${cpuNote})` };
  const ratio = atKnee.throughput / pick.throughput;
  return {
    pool: false,
    knee,
    baseline: pick,
    line:
      `recommended: ${pick.label} (${pick.throughput.toFixed(1)} tasks/s; a pool at its knee, ${knee.workers} worker${knee.workers === 1 ? '' : 's'}, ` +
      `gets ${atKnee.throughput.toFixed(1)}/s, ${ratio.toFixed(2)}×: a worker pool does not pay for this task; ${cpuNote})`,
  };
}
