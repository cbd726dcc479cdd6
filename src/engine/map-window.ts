/**
 * How many items `pool.map()` keeps between its source and its consumer.
 *
 * A fixed window of 2 × the pool's size starves a pool of short tasks: each
 * item makes a round trip through the pool before the next is read, so the
 * workers wait on the main thread (40 µs tasks ran at half the throughput
 * of a window of 512). The adaptive window keeps about `MAP_TARGET_MS` of
 * the pool's work in flight instead, from the completion rate it sees
 * (Little's law: items in flight = rate × time in flight), between 2 × the
 * pool's size and `MAP_WINDOW_MAX`. It only grows while completions come
 * faster than the window turns over, that is while tasks are short: a pool
 * of 1 ms tasks stays at its floor. Like the auto pipeline
 * (src/engine/pipeline.ts) it is a throughput heuristic, not a semantic
 * timer, so it reads the real clock unless a test hands it one.
 */

/**
 * Keep about this many milliseconds of the pool's work in flight: longer
 * than a scheduler's time slice, so that the workers still have work while
 * the main thread (which reads the source, sends, and hands results to the
 * consumer) waits for a CPU on a loaded machine. On 2 busy cores, 40 µs
 * tasks ran at 1.2 to 1.5× the throughput with 8 to 16 ms as with 4 ms.
 */
export const MAP_TARGET_MS = 16;
/** The adaptive window never holds more items than this (inputs running plus results waiting), whatever the rate. */
export const MAP_WINDOW_MAX = 1024;
/** A rate sample spans at least this long, so that a batch of results arriving at once counts as one. */
export const MAP_SAMPLE_MS = 1;

/** What `mapTasks` asks of its window. */
export interface MapWindow {
  /** Items allowed in flight now (running, or finished and waiting for the consumer). */
  readonly size: number;
  /** One item finished. */
  completed(): void;
}

/** An explicit `concurrency`: the window the user chose, never moved. */
export class FixedWindow implements MapWindow {
  readonly size: number;
  constructor(size: number) {
    this.size = size;
  }
  completed(): void {
    // A fixed window does not learn.
  }
}

/** The window for a completion rate (items per ms), within [floor, ceiling]. Pure. */
export function windowFor(ratePerMs: number, floor: number, ceiling: number): number {
  const want = Math.ceil(ratePerMs * MAP_TARGET_MS);
  if (!(want > floor)) return floor; // NaN and 0 included
  return want < ceiling ? want : ceiling;
}

/**
 * The bounds of the adaptive window for a pool of `maxSize` workers and a
 * queue of `capacity`: from 2 × the size (the old fixed default, and enough
 * for long tasks) up to `MAP_WINDOW_MAX`, and never past what the workers
 * and the queue hold together (`capacity + maxSize`; above the floor, past
 * the capacity alone), so map alone cannot overflow the queue it feeds.
 */
export function windowBounds(maxSize: number, capacity: number): { floor: number; ceiling: number } {
  const floor = Math.min(2 * maxSize, capacity + maxSize);
  return { floor, ceiling: Math.max(floor, Math.min(MAP_WINDOW_MAX, capacity)) };
}

/** The default window: starts at its floor and follows the completion rate. */
export class AdaptiveWindow implements MapWindow {
  size: number;
  readonly floor: number;
  readonly ceiling: number;
  readonly #now: () => number;
  /** Completion rate, items per ms; -1 before the first sample. */
  #rate = -1;
  #sampleStart = -1;
  #sampleCount = 0;

  constructor(floor: number, ceiling: number, now: () => number = () => performance.now()) {
    this.floor = floor;
    this.ceiling = ceiling;
    this.size = floor;
    this.#now = now;
  }

  /** The smoothed completion rate (items per ms), -1 before the first sample ends. */
  get rate(): number {
    return this.#rate;
  }

  completed(): void {
    const now = this.#now();
    // The first completion opens the first sample: the time before it was spent starting workers, not working.
    if (this.#sampleStart < 0) {
      this.#sampleStart = now;
      return;
    }
    this.#sampleCount++;
    const elapsed = now - this.#sampleStart;
    if (elapsed < MAP_SAMPLE_MS) return;
    const sample = this.#sampleCount / elapsed;
    // Up at once (a short window throttles the very rate it measures), down by an eighth of the gap a sample
    // (results come back in batches, so one sample may see few; a consumer's pause is not the new normal).
    this.#rate = sample >= this.#rate ? sample : this.#rate + (sample - this.#rate) / 8;
    this.size = windowFor(this.#rate, this.floor, this.ceiling);
    this.#sampleStart = now;
    this.#sampleCount = 0;
  }
}
