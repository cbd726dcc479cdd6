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
 * A pool must beat the best baseline by more than this fraction to pay for
 * itself (the knee's own tolerance: closer than this is noise, and the pool
 * costs threads, memory and copies for nothing).
 */
export const POOL_MUST_GAIN = 0.05;

/**
 * The knee of the pool sizes, unless a baseline (in the order given, the
 * simplest first) gets within POOL_MUST_GAIN of the best throughput of all:
 * then that baseline, the simplest of those that do.
 */
export function recommend(points: readonly TunePoint[], baselines: readonly BaselinePoint[], cpus: number): Recommendation {
  const knee = findKnee(points);
  const bestPool = points.reduce((a, p) => (p.throughput > a.throughput ? p : a));
  const usable = baselines.filter((b) => b.failed === 0 && Number.isFinite(b.throughput) && b.throughput > 0);
  const best = Math.max(bestPool.throughput, ...usable.map((b) => b.throughput));
  const pick = usable.find((b) => b.throughput >= (1 - POOL_MUST_GAIN) * best);
  const cpuNote = `${cpus} CPU${cpus === 1 ? '' : 's'}`;
  if (pick === undefined) return { pool: true, knee, line: `recommended size: ${knee.workers} (${knee.reason}; ${cpuNote})` };
  const ratio = bestPool.throughput / pick.throughput;
  return {
    pool: false,
    knee,
    baseline: pick,
    line:
      `recommended: ${pick.label} (${pick.throughput.toFixed(1)} tasks/s; the best pool, ${bestPool.workers} worker${bestPool.workers === 1 ? '' : 's'}, ` +
      `gets ${bestPool.throughput.toFixed(1)}/s, ${ratio.toFixed(2)}×: a worker pool does not pay for this task; ${cpuNote})`,
  };
}
