/**
 * Task latency percentiles in constant memory: a log-scale histogram with 16
 * buckets per doubling (each within ~4.4% of its neighbours), from 1 µs up to
 * about 18 hours. Exact enough for a progress line; never grows.
 */

const PER_DOUBLING = 16;
const MIN_MS = 0.001;
const BUCKETS = 36 * PER_DOUBLING;

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #total = 0;

  record(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log2(ms / MIN_MS) * PER_DOUBLING));
    this.#counts[i] = (this.#counts[i] as number) + 1;
    this.#total++;
  }

  get count(): number {
    return this.#total;
  }

  /** The `q` quantile (0..1) in ms: the upper edge of the bucket holding it; NaN when empty. */
  quantile(q: number): number {
    if (this.#total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i] as number;
      if (seen >= rank) return MIN_MS * 2 ** ((i + 1) / PER_DOUBLING);
    }
    return MIN_MS * 2 ** (BUCKETS / PER_DOUBLING);
  }
}
