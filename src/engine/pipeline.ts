/**
 * The auto pipeline's depth: how many tasks to keep queued on a worker so
 * it never waits for the pool between tasks, from the time one task
 * occupies it. A throughput heuristic, not a semantic timer, so it reads
 * the real clock (performance.now), not the pool's injectable one.
 */

import type { WorkerSlot } from './worker-slot.js';

/** Keep about this many milliseconds of work queued on each worker. */
const PIPELINE_TARGET_MS = 1;
/** Never more than this many tasks in flight on one worker (its in-flight ring holds more). */
export const PIPELINE_MAX = 128;

/** `n` results just came back from this worker: update its service time and depth. */
export function tunePipeline(slot: WorkerSlot, n: number): void {
  const now = performance.now();
  if (slot.busySince > 0) {
    const sample = (now - slot.busySince) / n;
    slot.serviceMs = slot.serviceMs < 0 ? sample : slot.serviceMs * 0.75 + sample * 0.25;
    const depth = Math.floor(PIPELINE_TARGET_MS / Math.max(slot.serviceMs, 1e-3)) + 1;
    slot.depth = depth > PIPELINE_MAX ? PIPELINE_MAX : depth;
  }
  slot.busySince = slot.inflightCount > 0 ? now : 0;
}
