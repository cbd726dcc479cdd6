/**
 * The knee of a throughput-versus-workers curve: the fewest workers that get
 * (nearly) the most throughput. Past it, more workers buy no throughput and
 * cost latency (they share the CPUs, so every task runs slower). Pure, so it
 * is tested on synthetic curves.
 */

export interface TunePoint {
  readonly workers: number;
  /** Tasks per second. */
  readonly throughput: number;
  /** 99th percentile of task latency, ms. */
  readonly p99Ms: number;
}

export interface Knee {
  /** Index into the points. */
  readonly index: number;
  readonly workers: number;
  /** Why this point: for the report. */
  readonly reason: string;
}

export interface KneeOptions {
  /** Throughput within this fraction of the peak counts as the plateau. @default 0.05 */
  tolerance?: number;
  /**
   * A step whose throughput gain is below `minGain` (fraction) while its p99
   * rises by more than `latencyRise` ends the climb early. @default 0.1 / 1.5
   */
  minGain?: number;
  latencyRise?: number;
}

export function findKnee(points: readonly TunePoint[], options: KneeOptions = {}): Knee {
  if (points.length === 0) throw new RangeError('findKnee needs at least one point');
  const tolerance = options.tolerance ?? 0.05;
  const minGain = options.minGain ?? 0.1;
  const latencyRise = options.latencyRise ?? 1.5;
  const sorted = [...points].map((p, i) => ({ p, i })).sort((a, b) => a.p.workers - b.p.workers);
  let peak = 0;
  for (const { p } of sorted) if (p.throughput > peak) peak = p.throughput;
  // Throughput stops rising: the first size within `tolerance` of the peak.
  let plateau = sorted.length - 1;
  for (let k = 0; k < sorted.length; k++) {
    if ((sorted[k] as (typeof sorted)[number]).p.throughput >= (1 - tolerance) * peak) {
      plateau = k;
      break;
    }
  }
  // Latency climbs: a step before the plateau that buys little throughput for a lot of latency.
  for (let k = 1; k <= plateau; k++) {
    const prev = (sorted[k - 1] as (typeof sorted)[number]).p;
    const cur = (sorted[k] as (typeof sorted)[number]).p;
    const gain = prev.throughput > 0 ? (cur.throughput - prev.throughput) / prev.throughput : Infinity;
    if (gain < minGain && prev.p99Ms > 0 && cur.p99Ms > latencyRise * prev.p99Ms) {
      const at = sorted[k - 1] as (typeof sorted)[number];
      return {
        index: at.i,
        workers: at.p.workers,
        reason: `${cur.workers} workers add ${(gain * 100).toFixed(0)}% throughput but ${(cur.p99Ms / prev.p99Ms).toFixed(1)}× the p99`,
      };
    }
  }
  const at = sorted[plateau] as (typeof sorted)[number];
  const last = sorted.length - 1;
  return {
    index: at.i,
    workers: at.p.workers,
    reason:
      plateau === last && plateau > 0 && (sorted[last - 1] as (typeof sorted)[number]).p.throughput < (1 - tolerance) * peak
        ? 'throughput still rising at the largest size measured (try a larger --max)'
        : `throughput within ${Math.round(tolerance * 100)}% of its peak (${peak.toFixed(1)}/s) from here on adds no speed`,
  };
}
