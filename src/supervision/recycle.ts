/**
 * Recycling: when a worker should be retired and replaced (task count, age,
 * heap for threads, RSS for processes), and leak detection. Pure: the
 * scheduler passes the figures in and does the replacing (the replacement is
 * started first; see docs/supervision.md for the capacity bound).
 */

export interface RecyclePolicy {
  maxTasks: number;
  maxAgeMs: number;
  maxHeapBytes: number;
  maxRssBytes: number;
}

export type RecycleWhy = 'max-tasks' | 'max-age' | 'max-heap' | 'max-rss' | 'leak' | 'quarantine' | 'unhealthy';

export function recycleReason(p: RecyclePolicy, completed: number, ageMs: number, heap: number | undefined, rss: number | undefined): RecycleWhy | undefined {
  if (completed >= p.maxTasks) return 'max-tasks';
  if (ageMs >= p.maxAgeMs) return 'max-age';
  if (heap !== undefined && heap >= p.maxHeapBytes) return 'max-heap';
  if (rss !== undefined && rss >= p.maxRssBytes) return 'max-rss';
  return undefined;
}

/** Samples per low-water window, and rising windows in a row that flag a leak. */
const WINDOW = 5;
const RISES = 4;
/** A floor must rise by at least this much per window to count (GC noise is smaller). */
const MIN_RISE_BYTES = 256 * 1024;

/**
 * Heap that "keeps growing across tasks": heap used right after a beat
 * swings with garbage, so compare low-water marks instead: the minimum over
 * each window of WINDOW samples (taken only while the worker finishes
 * tasks). RISES windows in a row whose floor rose by MIN_RISE_BYTES or more
 * flag the worker as leaking. A heuristic, reported, not acted on unless
 * the heap limit is also reached.
 */
export class LeakDetector {
  #floor = Infinity;
  #count = 0;
  #lastFloor = -1;
  #rises = 0;
  leaking = false;

  add(heap: number): boolean {
    if (heap < this.#floor) this.#floor = heap;
    if (++this.#count < WINDOW) return this.leaking;
    const floor = this.#floor;
    this.#floor = Infinity;
    this.#count = 0;
    if (this.#lastFloor >= 0 && floor - this.#lastFloor >= MIN_RISE_BYTES) this.#rises++;
    else this.#rises = 0;
    this.#lastFloor = floor;
    if (this.#rises >= RISES) this.leaking = true;
    return this.leaking;
  }
}
