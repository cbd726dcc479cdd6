/**
 * Little's law figures: the arrival rate λ (tasks submitted per second) and
 * the mean running time W (time a task holds a worker, dispatch to result),
 * both as moving averages, and the concurrency they imply, N = λ·W: the
 * number of workers the offered load keeps busy on average. With N near the
 * pool's size, the queue grows; well below it, workers sit idle.
 *
 * Counters are bumped on the hot path; the averages are folded in once per
 * sample, on the pool's clock, with a time constant of `tauMs`.
 */

export interface LittleSummary {
  /** λ, tasks per second. */
  readonly arrivalRate: number;
  /** W, ms; NaN before the first task finished. */
  readonly meanRunMs: number;
  /** N = λ·W; NaN while W is unknown. */
  readonly concurrency: number;
}

export class LittleMeter {
  readonly #tauMs: number;
  /** Tasks submitted since the last fold (bumped by the scheduler). */
  arrived = 0;
  #runSum = 0;
  #runCount = 0;
  #lastAt: number;
  #rate = 0;
  #w = NaN;

  constructor(now: number, tauMs: number) {
    this.#lastAt = now;
    this.#tauMs = tauMs;
  }

  /** A task held a worker for `ms`. */
  ran(ms: number): void {
    this.#runSum += ms;
    this.#runCount++;
  }

  /** Folds what happened since the last call into the averages. */
  fold(now: number): void {
    const dt = now - this.#lastAt;
    if (dt <= 0) return;
    this.#lastAt = now;
    // Exponential smoothing over time, so the average means the same whatever the sample period.
    const a = 1 - Math.exp(-dt / this.#tauMs);
    this.#rate += a * ((this.arrived * 1000) / dt - this.#rate);
    this.arrived = 0;
    if (this.#runCount > 0) {
      const mean = this.#runSum / this.#runCount;
      this.#w = Number.isNaN(this.#w) ? mean : this.#w + a * (mean - this.#w);
      this.#runSum = 0;
      this.#runCount = 0;
    }
  }

  summary(): LittleSummary {
    const w = this.#w;
    return Object.freeze({ arrivalRate: this.#rate, meanRunMs: w, concurrency: Number.isNaN(w) ? NaN : (this.#rate * w) / 1000 });
  }
}
