/**
 * The auto pipeline's depth: how many tasks to keep on a worker at once.
 *
 * Two reasons to keep more than one there. Short tasks: enough queued that
 * the worker never waits for the pool between tasks, from the time one task
 * occupies it (a throughput heuristic, not a semantic timer, so it reads the
 * real clock, performance.now, not the pool's injectable one). Waiting
 * tasks: async tasks that spend most of their time awaiting I/O, timers or
 * other threads leave their worker's event loop free, so ASYNC_DEPTH of
 * them run on it at once, as they would on the main thread; the worker says
 * when its tasks are of that sort (Op.IoBound, judged in runtime.ts: tasks
 * of a millisecond or more whose synchronous part is a small share).
 */

import type { WorkerSlot } from './worker-slot.js';

/** Keep about this many milliseconds of work queued on each worker. */
const PIPELINE_TARGET_MS = 1;
/** Never more than this many tasks in flight on one worker (its in-flight ring holds more). */
export const PIPELINE_MAX = 128;
/**
 * Tasks in flight on a worker whose async tasks mostly wait. 32 per worker
 * is several hundred concurrent operations for a pool of one worker per
 * core, more than most backends want from one client (a database pool, an
 * API's rate limit), while one worker's share stays small: tasks that have
 * started cannot move to an idle worker, and a worker that dies fails all
 * of its started tasks. A fixed `pipeline: n` (up to 256) sets any other bound.
 */
export const ASYNC_DEPTH = 32;

/** The depth that keeps PIPELINE_TARGET_MS of work queued at this service time. */
function depthFor(serviceMs: number): number {
  const depth = Math.floor(PIPELINE_TARGET_MS / Math.max(serviceMs, 1e-3)) + 1;
  return depth > PIPELINE_MAX ? PIPELINE_MAX : depth;
}

/** `n` results just came back from this worker: update its service time and depth. */
export function tunePipeline(slot: WorkerSlot, n: number): void {
  const now = performance.now();
  if (slot.busySince > 0) {
    const sample = (now - slot.busySince) / n;
    slot.serviceMs = slot.serviceMs < 0 ? sample : slot.serviceMs * 0.75 + sample * 0.25;
    // Tasks that wait run side by side, so their results say nothing of the
    // time one occupies the worker: its depth is ASYNC_DEPTH, whatever they say.
    if (!slot.waiting) slot.depth = depthFor(slot.serviceMs);
  }
  slot.busySince = slot.inflightCount > 0 ? now : 0;
}

/** The worker said whether its async tasks mostly wait (Op.IoBound). */
export function admitWaiting(slot: WorkerSlot, waiting: boolean): void {
  if (waiting === slot.waiting) return;
  slot.waiting = waiting;
  // The service time measured while tasks ran side by side is no guide to
  // tasks that compute: measure afresh, from depth 1.
  if (!waiting) slot.serviceMs = -1;
  slot.depth = waiting ? ASYNC_DEPTH : 1;
}
