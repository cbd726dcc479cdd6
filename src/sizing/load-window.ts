/**
 * Queue depth and worker utilization over a sliding window, from samples the
 * scheduler records every `sampleMs` (on the injectable clock). Fixed-size
 * ring buffers: the window costs the same memory however long the pool runs.
 */

export interface LoadSummary {
  /** Milliseconds the summary covers (less than the window until it has filled). */
  readonly spanMs: number;
  readonly queueDepth: { readonly avg: number; readonly max: number };
  /** Fraction of ready workers that were busy, averaged: 0 idle … 1 all busy. */
  readonly utilization: number;
  /** Tasks completed per second over the window. */
  readonly throughput: number;
}

export class LoadWindow {
  readonly #sampleMs: number;
  readonly #depth: Float64Array;
  readonly #util: Float64Array;
  readonly #done: Float64Array;
  #count = 0;
  #next = 0;

  constructor(sampleMs: number, windowMs: number) {
    this.#sampleMs = sampleMs;
    const n = Math.max(1, Math.round(windowMs / sampleMs));
    this.#depth = new Float64Array(n);
    this.#util = new Float64Array(n);
    this.#done = new Float64Array(n);
  }

  record(depth: number, utilization: number, completed = 0): void {
    this.#depth[this.#next] = depth;
    this.#done[this.#next] = completed;
    this.#util[this.#next] = utilization;
    this.#next = (this.#next + 1) % this.#depth.length;
    if (this.#count < this.#depth.length) this.#count++;
  }

  summary(): LoadSummary {
    let sum = 0;
    let max = 0;
    let util = 0;
    let done = 0;
    for (let i = 0; i < this.#count; i++) {
      done += this.#done[i] as number;
      const d = this.#depth[i] as number;
      sum += d;
      if (d > max) max = d;
      util += this.#util[i] as number;
    }
    const n = this.#count;
    return Object.freeze({
      spanMs: n * this.#sampleMs,
      queueDepth: Object.freeze({ avg: n === 0 ? 0 : sum / n, max }),
      utilization: n === 0 ? 0 : util / n,
      throughput: n === 0 ? 0 : done / ((n * this.#sampleMs) / 1000),
    });
  }
}
