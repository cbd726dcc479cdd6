/**
 * Adaptive pool sizing. Every `saturation.sampleMs` the pool hands a
 * `ScalerMetrics` sample to its scaler, which answers with the size it wants;
 * the pool clamps that to [min, max], spawns to grow, and retires idle
 * workers first (then drains busy ones) to shrink.
 *
 * The built-in `hysteresisScaler` is pure logic over samples: its only input
 * besides the sample is time (the sample's `now`, from the pool's injectable
 * clock, or a clock of its own), so it is tested by feeding it synthetic load.
 */

import type { Clock } from '../time/clock.js';
import { InvalidOptionError } from '../api/errors.js';
import { duration, plainObject, positiveInt } from '../config/validate-helpers.js';

export interface ScalerMetrics {
  /** Milliseconds on the pool's clock. */
  readonly now: number;
  /** Workers alive or starting, not counting those being retired. */
  readonly size: number;
  readonly min: number;
  readonly max: number;
  /** CPUs the pool sizes for (container-aware, see cpu-count.ts). */
  readonly cpus: number;
  /** Tasks waiting for a worker (queued plus waiting for room). */
  readonly queueDepth: number;
  /** Ready workers with work / without. */
  readonly busy: number;
  readonly idle: number;
  /** Process CPU time over the last sample as a fraction of `cpus` (0..1; worker threads included); NaN when unknown. */
  readonly cpu: number;
  /** Mean event-loop utilization of the thread workers over the last sample (0..1); NaN for other kinds. */
  readonly elu: number;
  /** λ: tasks submitted per second (moving average). */
  readonly arrivalRate: number;
  /** W: mean time a task holds a worker, in ms (moving average); NaN before the first completion. */
  readonly meanRunMs: number;
  /** N = λ·W: workers the offered load keeps busy on average (Little's law). */
  readonly concurrency: number;
}

/** A custom scaler: return the size you want (clamped to [min, max] by the pool). Return `metrics.size` to hold. */
export interface Scaler {
  sample(metrics: ScalerMetrics): number;
}

export interface HysteresisOptions {
  /** Scale up when queue depth per worker is above this… @default 1 */
  upQueue?: number;
  /** …and CPU use is below this (0..1)… @default 0.8 */
  upCpu?: number;
  /** …for this long. @default 3000 */
  upAfterMs?: number;
  /** Scale down when queue depth per worker is at most this… @default 0 */
  downQueue?: number;
  /** …and CPU use is below this… @default 0.4 */
  downCpu?: number;
  /** …for this long. @default 15_000 */
  downAfterMs?: number;
  /** Most workers added or removed by one change. @default 2 */
  step?: number;
  /** No further change for this long after a change. @default 5000 */
  cooldownMs?: number;
  /** Overload: CPU use at or above this with more workers than CPUs… @default 0.95 */
  overloadCpu?: number;
  /** …or, after growing, mean running time W above this multiple of W before the growth… @default 1.5 */
  latencyRise?: number;
  /** …for this long shrinks at once, cool-down or not (but no faster than `overloadCooldownMs`). @default 2000 */
  overloadAfterMs?: number;
  /** @default 2000 */
  overloadCooldownMs?: number;
  /** Time source; by default the sample's `now` (the pool's clock). */
  clock?: Clock;
}

type Resolved = Required<Omit<HysteresisOptions, 'clock'>> & { clock: Clock | undefined };

export const HYSTERESIS_DEFAULTS: Readonly<Required<Omit<HysteresisOptions, 'clock'>>> = Object.freeze({
  upQueue: 1,
  upCpu: 0.8,
  upAfterMs: 3000,
  downQueue: 0,
  downCpu: 0.4,
  downAfterMs: 15_000,
  step: 2,
  cooldownMs: 5000,
  overloadCpu: 0.95,
  latencyRise: 1.5,
  overloadAfterMs: 2000,
  overloadCooldownMs: 2000,
});

/** What the hysteresis scaler decided on its last sample (for logs and tests). */
export type ScaleDecision = 'hold' | 'up' | 'down' | 'overload';

export class HysteresisScaler implements Scaler {
  readonly options: Readonly<Resolved>;
  /** When each condition started to hold without a break; -1: not holding. */
  #upSince = -1;
  #downSince = -1;
  #overSince = -1;
  #lastChange = -Infinity;
  /** W just before the last growth: growth that makes every task slower is overload. */
  #wBeforeGrowth = NaN;
  #sizeBeforeGrowth = 0;
  /** After growth made tasks slower: no growth past this size until `#ceilingUntil`. */
  #ceiling = Infinity;
  #ceilingUntil = -Infinity;
  #last: ScaleDecision = 'hold';

  constructor(options: HysteresisOptions = {}) {
    this.options = resolveHysteresis(options);
  }

  get lastDecision(): ScaleDecision {
    return this.#last;
  }

  sample(m: ScalerMetrics): number {
    const o = this.options;
    const now = o.clock?.now() ?? m.now;
    const size = m.size;
    // Process CPU time is the signal; thread workers' event-loop utilization stands in where it is unknown.
    const cpu = !Number.isNaN(m.cpu) ? m.cpu : !Number.isNaN(m.elu) ? m.elu : 0;
    const perWorker = m.queueDepth / Math.max(size, 1);
    const latencyUp = o.latencyRise > 0 && !Number.isNaN(this.#wBeforeGrowth) && m.meanRunMs > o.latencyRise * this.#wBeforeGrowth;
    const overload = size > m.min && ((cpu >= o.overloadCpu && size > m.cpus) || latencyUp);
    if (now >= this.#ceilingUntil) this.#ceiling = Infinity;
    const up = size < Math.min(m.max, this.#ceiling) && perWorker > o.upQueue && cpu < o.upCpu;
    const down = size > m.min && perWorker <= o.downQueue && cpu < o.downCpu;
    this.#overSince = overload ? (this.#overSince < 0 ? now : this.#overSince) : -1;
    this.#upSince = up ? (this.#upSince < 0 ? now : this.#upSince) : -1;
    this.#downSince = down ? (this.#downSince < 0 ? now : this.#downSince) : -1;
    this.#last = 'hold';

    if (overload && now - this.#overSince >= o.overloadAfterMs && now - this.#lastChange >= o.overloadCooldownMs) {
      // Shed what the CPUs cannot run, a bounded step at a time.
      // Latency: back to the size before the growth. CPU: toward the CPU count.
      const floor = latencyUp ? Math.min(size - 1, this.#sizeBeforeGrowth) : Math.min(size - 1, m.cpus);
      const target = Math.max(m.min, size - o.step, floor);
      if (latencyUp) {
        // Growth past here made every task slower (memory bandwidth, locks, a shared backend): remember it for a while.
        this.#ceiling = target;
        this.#ceilingUntil = now + 10 * Math.max(o.cooldownMs, o.upAfterMs);
      }
      return this.#change(now, target, 'overload');
    }
    if (now - this.#lastChange < o.cooldownMs) return size;
    if (up && now - this.#upSince >= o.upAfterMs) {
      // Little's law says how many workers the offered load needs; the step bounds the jump.
      const need = Number.isFinite(m.concurrency) ? Math.ceil(m.concurrency) : size + o.step;
      this.#wBeforeGrowth = m.meanRunMs;
      this.#sizeBeforeGrowth = size;
      return this.#change(now, Math.min(m.max, this.#ceiling, size + o.step, Math.max(size + 1, need)), 'up');
    }
    if (down && now - this.#downSince >= o.downAfterMs) {
      // Keep 25% headroom over the implied concurrency, so a shrink does not invite the next growth.
      const keep = Number.isFinite(m.concurrency) ? Math.ceil(m.concurrency * 1.25) : size - 1;
      const target = Math.max(m.min, size - o.step, keep);
      if (target < size) return this.#change(now, target, 'down');
    }
    return size;
  }

  #change(now: number, target: number, why: ScaleDecision): number {
    this.#lastChange = now;
    this.#upSince = this.#downSince = this.#overSince = -1;
    if (why !== 'up') this.#wBeforeGrowth = NaN;
    this.#last = why;
    return target;
  }
}

/** The built-in scaler with the given thresholds (see HysteresisOptions for the defaults). */
export function hysteresisScaler(options: HysteresisOptions = {}): HysteresisScaler {
  return new HysteresisScaler(options);
}

function resolveHysteresis(input: HysteresisOptions): Resolved {
  const o = plainObject('size.scaler', input) as HysteresisOptions;
  const fraction = (name: keyof HysteresisOptions): number => {
    const v = o[name] ?? HYSTERESIS_DEFAULTS[name as keyof typeof HYSTERESIS_DEFAULTS];
    if (typeof v !== 'number' || !(v > 0) || v > 1) throw new InvalidOptionError(`size.scaler.${name}`, 'a number above 0 and at most 1', v);
    return v;
  };
  const nonNegative = (name: keyof HysteresisOptions): number => {
    const v = o[name] ?? HYSTERESIS_DEFAULTS[name as keyof typeof HYSTERESIS_DEFAULTS];
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity) throw new InvalidOptionError(`size.scaler.${name}`, 'a non-negative number', v);
    return v;
  };
  const ms = (name: keyof HysteresisOptions): number => duration(`size.scaler.${name}`, o[name] ?? HYSTERESIS_DEFAULTS[name as keyof typeof HYSTERESIS_DEFAULTS]);
  const r: Resolved = {
    upQueue: nonNegative('upQueue'),
    upCpu: fraction('upCpu'),
    upAfterMs: ms('upAfterMs'),
    downQueue: nonNegative('downQueue'),
    downCpu: fraction('downCpu'),
    downAfterMs: ms('downAfterMs'),
    step: positiveInt('size.scaler.step', o.step ?? HYSTERESIS_DEFAULTS.step),
    cooldownMs: ms('cooldownMs'),
    overloadCpu: fraction('overloadCpu'),
    latencyRise: nonNegative('latencyRise'),
    overloadAfterMs: ms('overloadAfterMs'),
    overloadCooldownMs: ms('overloadCooldownMs'),
    clock: o.clock,
  };
  if (r.downQueue > r.upQueue) throw new InvalidOptionError('size.scaler.downQueue', `at most size.scaler.upQueue (${r.upQueue})`, r.downQueue);
  if (r.downCpu > r.upCpu) throw new InvalidOptionError('size.scaler.downCpu', `at most size.scaler.upCpu (${r.upCpu})`, r.downCpu);
  if (r.latencyRise !== 0 && r.latencyRise < 1) throw new InvalidOptionError('size.scaler.latencyRise', 'at least 1 (or 0 to ignore latency)', r.latencyRise);
  return r;
}

/**
 * `size.scaler` as given to createPool: `'hysteresis'`, hysteresis options,
 * or any object with a `sample(metrics)` method.
 */
export function resolveScaler(value: unknown): Scaler | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === 'hysteresis' || value === true) return new HysteresisScaler();
  if (value !== null && typeof value === 'object' && typeof (value as Partial<Scaler>).sample === 'function') return value as Scaler;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return new HysteresisScaler(value);
  throw new InvalidOptionError('size.scaler', "'hysteresis', hysteresis options, or an object with a sample(metrics) method", value);
}
