/**
 * Latency figures: Node's own HDR histograms (perf_hooks.createHistogram)
 * summarised in milliseconds, and which tasks feed them.
 */
import type { RecordableHistogram } from 'node:perf_hooks';

export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/**
 * Which tasks feed the latency histograms: all of the first 8192, then one in
 * four (by task id, which is independent of latency, so percentiles stay
 * unbiased). Each record is a call into native code; at hundreds of
 * thousands of tasks a second, sampling keeps it off the critical path.
 */
export function sampled(taskId: number): boolean {
  return taskId < 8192 || (taskId & 3) === 0;
}

/** Milliseconds to whole microseconds, at least 1 (HDR histograms record positive integers). */
export function toMicros(ms: number): number {
  const us = Math.round(ms * 1000);
  return us < 1 ? 1 : us;
}

export function summarize(h: RecordableHistogram): LatencySummary {
  if (h.count === 0) return Object.freeze({ count: 0, mean: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 });
  return Object.freeze({
    count: h.count,
    mean: h.mean / 1000,
    p50: h.percentile(50) / 1000,
    p95: h.percentile(95) / 1000,
    p99: h.percentile(99) / 1000,
    p999: h.percentile(99.9) / 1000,
    max: h.max / 1000,
  });
}

