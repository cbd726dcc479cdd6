/**
 * The two alarms the guide asks for, as small state machines fed once per
 * sample by the scheduler (on the pool's clock, so tests drive them with a
 * ManualClock):
 *
 * - saturation: queue depth above `factor` × the maximum pool size for
 *   `afterMs` (the scale-out hint), and back;
 * - latency: the p99 of end-to-end latency over the last sample interval
 *   above `latencyFactor` × a slowly moving baseline for `afterMs`, and back.
 *   The baseline does not move while the alarm is on, so a sustained rise
 *   never becomes the new normal.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export type AlarmEvent = 'saturated' | 'unsaturated' | 'latency-alarm' | 'latency-normal';
export type AlarmEmit = (event: AlarmEvent, payload: unknown) => void;

/**
 * A condition that must hold for `afterMs` before it counts: `update` says
 * `'rose'` once when it has held that long, `'fell'` once when it stops.
 */
class Sustained {
  #since = -1;
  #on = false;
  readonly #afterMs: number;

  constructor(afterMs: number) {
    this.#afterMs = afterMs;
  }

  /** How long it has held (0 when it does not). */
  heldFor(now: number): number {
    return this.#since < 0 ? 0 : now - this.#since;
  }

  update(now: number, holds: boolean): 'rose' | 'fell' | undefined {
    if (holds) {
      if (this.#since < 0) this.#since = now;
      if (this.#on || now - this.#since < this.#afterMs) return undefined;
      this.#on = true;
      return 'rose';
    }
    this.#since = -1;
    if (!this.#on) return undefined;
    this.#on = false;
    return 'fell';
  }
}

export class SaturationAlarm {
  readonly #held: Sustained;
  readonly #threshold: number;
  readonly #emit: AlarmEmit;

  constructor(afterMs: number, threshold: number, emit: AlarmEmit) {
    this.#held = new Sustained(afterMs);
    this.#threshold = threshold;
    this.#emit = emit;
  }

  sample(now: number, queueDepth: number): void {
    const change = this.#held.update(now, queueDepth > this.#threshold);
    if (change === 'rose') this.#emit('saturated', { queueDepth, threshold: this.#threshold, sinceMs: this.#held.heldFor(now) });
    else if (change === 'fell') this.#emit('unsaturated', { queueDepth, threshold: this.#threshold });
  }
}

/** Fewer completions than this in an interval say nothing about its p99. */
const MIN_INTERVAL_COUNT = 10;
/** Intervals that make the baseline before the alarm may fire. */
const WARM_UP_SAMPLES = 3;

export class LatencyAlarm {
  /** End-to-end latency (µs) of the current sample interval. */
  readonly #interval: RecordableHistogram = createHistogram();
  #baseline = -1;
  #samples = 0;
  readonly #held: Sustained;
  readonly #factor: number;
  readonly #emit: AlarmEmit;

  constructor(afterMs: number, factor: number, emit: AlarmEmit) {
    this.#held = new Sustained(afterMs);
    this.#factor = factor;
    this.#emit = emit;
  }

  /** One task's latency, submission to result, in whole microseconds (≥ 1). */
  record(micros: number): void {
    this.#interval.record(micros);
  }

  sample(now: number): void {
    const h = this.#interval;
    if (h.count < MIN_INTERVAL_COUNT) {
      h.reset();
      return;
    }
    const p99 = h.percentile(99) / 1000;
    h.reset();
    if (this.#baseline < 0) {
      this.#baseline = p99;
      this.#samples = 1;
      return;
    }
    const high = this.#samples >= WARM_UP_SAMPLES && p99 > this.#factor * this.#baseline;
    const change = this.#held.update(now, high);
    if (change === 'rose') this.#emit('latency-alarm', { p99Ms: p99, baselineMs: this.#baseline, factor: this.#factor });
    else if (change === 'fell') this.#emit('latency-normal', { p99Ms: p99, baselineMs: this.#baseline });
    // The baseline holds still while latency is high.
    if (high) return;
    this.#samples++;
    this.#baseline = this.#baseline * 0.9 + p99 * 0.1;
  }
}
