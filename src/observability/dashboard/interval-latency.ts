/**
 * p50 and p99 of each dashboard interval, from the first `cap` completions
 * of the interval.
 *
 * `stats().latency` is cumulative since the pool started, so it cannot show
 * a rise over the last seconds. The per-interval figures come from the
 * `sluice:task:completed` channel, but a subscriber makes the engine build
 * and publish one event per task: at two million tiny tasks a second that
 * costs about 30% of throughput (docs/performance.md, "sluice observed").
 * So the dashboard listens to the first `cap` completions of each interval
 * and then unsubscribes until the next tick: the cost is bounded by `cap`
 * events a second however fast the pool runs, and a slow pool (fewer than
 * `cap` tasks a second) has every task counted.
 *
 * Rejected: sampling one task in N (the engine would still publish every
 * event); differencing two cumulative HDR summaries (percentiles do not
 * subtract).
 */

import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { subscribePool } from '../subscribe.js';
import { toMicros } from '../latency.js';

export class IntervalLatency {
  readonly #poolId: string;
  readonly #cap: number;
  readonly #h: RecordableHistogram = createHistogram();
  #detach: (() => void) | undefined;
  #closed = false;

  constructor(poolId: string, cap: number) {
    this.#poolId = poolId;
    this.#cap = cap;
    this.#listen();
  }

  /** The interval's p50 and p99 in ms (null when nothing completed), and a fresh interval begins. */
  take(): { p50: number | null; p99: number | null; samples: number } {
    const h = this.#h;
    const out = h.count === 0 ? { p50: null, p99: null, samples: 0 } : { p50: h.percentile(50) / 1000, p99: h.percentile(99) / 1000, samples: h.count };
    h.reset();
    if (this.#detach === undefined && !this.#closed) this.#listen();
    return out;
  }

  close(): void {
    this.#closed = true;
    this.#stop();
  }

  #listen(): void {
    this.#detach = subscribePool(this.#poolId, {
      taskCompleted: (e) => {
        this.#h.record(toMicros(e.waitMs + e.runMs));
        if (this.#h.count >= this.#cap) this.#stop();
      },
    });
  }

  #stop(): void {
    this.#detach?.();
    this.#detach = undefined;
  }
}
