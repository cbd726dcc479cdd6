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

/** On for as long as a condition has held for `afterMs`; reports each change once. */
export class SaturationAlarm {
  #since = -1;
  #on = false;
  readonly #afterMs: number;
  readonly #threshold: number;
  readonly #emit: AlarmEmit;

  constructor(afterMs: number, threshold: number, emit: AlarmEmit) {
    this.#afterMs = afterMs;
    this.#threshold = threshold;
    this.#emit = emit;
  }

  sample(now: number, queueDepth: number): void {
    if (queueDepth > this.#threshold) {
      if (this.#since < 0) this.#since = now;
      if (!this.#on && now - this.#since >= this.#afterMs) {
        this.#on = true;
        this.#emit('saturated', { queueDepth, threshold: this.#threshold, sinceMs: now - this.#since });
      }
      return;
    }
    this.#since = -1;
    if (this.#on) {
      this.#on = false;
      this.#emit('unsaturated', { queueDepth, threshold: this.#threshold });
    }
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
  #highSince = -1;
  #on = false;
  readonly #afterMs: number;
  readonly #factor: number;
  readonly #emit: AlarmEmit;

  constructor(afterMs: number, factor: number, emit: AlarmEmit) {
    this.#afterMs = afterMs;
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
    if (this.#samples >= WARM_UP_SAMPLES && p99 > this.#factor * this.#baseline) {
      if (this.#highSince < 0) this.#highSince = now;
      if (!this.#on && now - this.#highSince >= this.#afterMs) {
        this.#on = true;
        this.#emit('latency-alarm', { p99Ms: p99, baselineMs: this.#baseline, factor: this.#factor });
      }
      return;
    }
    this.#highSince = -1;
    if (this.#on) {
      this.#on = false;
      this.#emit('latency-normal', { p99Ms: p99, baselineMs: this.#baseline });
    }
    this.#samples++;
    this.#baseline = this.#baseline * 0.9 + p99 * 0.1;
  }
}
