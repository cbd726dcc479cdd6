import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HysteresisScaler, type HysteresisOptions, type Scaler, type ScalerMetrics } from '../../src/sizing/scaler.js';
import { InvalidOptionError } from '../../src/api/errors.js';
import { ManualClock } from '../../src/testing.js';

/**
 * A synthetic pool, one step per sample: `rate(t)` tasks arrive per second,
 * each needs `serviceMs` of one CPU. Workers beyond the CPU count share the
 * CPUs, so every task gets slower (W grows) and CPU use pins at 1.
 * `slowdown(size)` multiplies W on top (memory bandwidth, a shared backend).
 */
interface Load {
  cpus: number;
  min: number;
  max: number;
  start: number;
  serviceMs: number;
  rate: (t: number) => number;
  slowdown?: (size: number) => number;
}

interface Trace {
  sizes: number[];
  events: { at: number; from: number; to: number }[];
}

function simulate(scaler: Scaler, clock: ManualClock, load: Load, seconds: number, sampleMs = 1000): Trace {
  let size = load.start;
  let queue = 0;
  let lambda = 0;
  let w = load.serviceMs;
  const sizes: number[] = [];
  const events: Trace['events'] = [];
  for (let i = 0; i < seconds * (1000 / sampleMs); i++) {
    clock.advance(sampleMs);
    const dt = sampleMs / 1000;
    const arrivals = load.rate(clock.now()) * dt;
    const share = Math.min(1, load.cpus / size); // CPU share of each worker
    const runMs = (load.serviceMs / share) * (load.slowdown?.(size) ?? 1);
    const capacity = (size * 1000 * dt) / runMs;
    const served = Math.min(queue + arrivals, capacity);
    queue = queue + arrivals - served;
    const cpuSeconds = (served * load.serviceMs) / 1000;
    const cpu = Math.min(1, cpuSeconds / (load.cpus * dt));
    lambda = lambda * 0.7 + (arrivals / dt) * 0.3;
    if (served > 0) w = w * 0.7 + runMs * 0.3;
    const busy = Math.min(size, Math.ceil((served * runMs) / (1000 * dt)));
    const m: ScalerMetrics = {
      now: clock.now(), size, min: load.min, max: load.max, cpus: load.cpus,
      queueDepth: Math.round(queue), busy, idle: size - busy, cpu, elu: NaN,
      arrivalRate: lambda, meanRunMs: w, concurrency: (lambda * w) / 1000,
    };
    const want = Math.min(load.max, Math.max(load.min, scaler.sample(m)));
    if (want !== size) events.push({ at: clock.now(), from: size, to: want });
    size = want;
    sizes.push(size);
  }
  return { sizes, events };
}

function scaler(clock: ManualClock, options: HysteresisOptions = {}): HysteresisScaler {
  return new HysteresisScaler({ clock, ...options });
}

describe('hysteresis scaler on synthetic load', () => {
  test('steady load: converges to the size Little\'s law implies, then holds', () => {
    const clock = new ManualClock();
    // λ = 30/s × W = 100 ms → N = 3 workers busy on average; 8 CPUs so CPU never binds.
    const load: Load = { cpus: 8, min: 1, max: 16, start: 1, serviceMs: 100, rate: () => 30 };
    const { sizes, events } = simulate(scaler(clock), clock, load, 300);
    const tail = sizes.slice(-120);
    assert.ok(tail.every((s) => s === tail[0]), `holds a size over the last 2 minutes: ${tail.join(',')}`);
    const final = tail[0] as number;
    assert.ok(final >= 3 && final <= 5, `converged near N = 3 (with headroom), got ${final}`);
    assert.ok(events.length <= 6, `few changes on the way: ${JSON.stringify(events)}`);
  });

  test('square-wave load does not thrash: scale events are bounded', () => {
    const clock = new ManualClock();
    const options = { cooldownMs: 5000, upAfterMs: 3000, downAfterMs: 15_000 };
    // Fast wave (2 s on, 2 s off): never lasts long enough to act on.
    const fast = simulate(scaler(clock, options), clock, { cpus: 8, min: 1, max: 16, start: 2, serviceMs: 100, rate: (t) => (Math.floor(t / 2000) % 2 === 0 ? 200 : 0) }, 600);
    assert.ok(fast.events.length <= 4, `fast wave: ${fast.events.length} events`);
    // Slow wave (60 s on, 60 s off): tracks it, but never more often than the cool-down allows.
    const clock2 = new ManualClock();
    const slow = simulate(scaler(clock2, options), clock2, { cpus: 8, min: 1, max: 16, start: 2, serviceMs: 100, rate: (t) => (Math.floor(t / 60_000) % 2 === 0 ? 80 : 5) }, 600);
    assert.ok(slow.events.length <= 600 / 5, `never more often than once per cool-down: ${slow.events.length}`);
    for (let i = 1; i < slow.events.length; i++) {
      const gap = (slow.events[i] as { at: number }).at - (slow.events[i - 1] as { at: number }).at;
      assert.ok(gap >= 2000, `events at least the overload cool-down apart, got ${gap} ms`);
    }
    // Per period (2 minutes) a handful of steps up and down, not a flip every sample.
    assert.ok(slow.events.length <= 5 * 8, `slow wave: ${slow.events.length} events in 5 periods`);
    const maxSize = Math.max(...slow.sizes);
    assert.ok(maxSize >= 8, `grew for the load peaks (8 busy workers), reached ${maxSize}`);
  });

  test('overload: CPU saturated with more workers than CPUs shrinks fast, down to the CPU count', () => {
    const clock = new ManualClock();
    const load: Load = { cpus: 4, min: 1, max: 16, start: 12, serviceMs: 100, rate: () => 100 };
    const { sizes, events } = simulate(scaler(clock), clock, load, 30);
    assert.equal(sizes.at(-1), 4, `settled at the CPU count: ${sizes.join(',')}`);
    const reached = sizes.indexOf(4);
    assert.ok(reached >= 0 && reached < 15, `within ${reached + 1} s, faster than the 15 s shrink delay`);
    assert.ok(events.every((e) => e.from - e.to <= 2), 'a bounded step each time');
    assert.ok(sizes.slice(reached).every((s) => s === 4), 'and holds there: a saturated CPU is no reason to grow');
  });

  test('overload: growth that makes every task slower is undone and not retried at once', () => {
    const clock = new ManualClock();
    // Past 4 workers each task takes 3× as long (a shared backend): growth only hurts.
    const load: Load = { cpus: 16, min: 1, max: 16, start: 4, serviceMs: 100, rate: () => 60, slowdown: (n) => (n > 4 ? 3 : 1) };
    const { sizes, events } = simulate(scaler(clock), clock, load, 120);
    const overSize = sizes.filter((s) => s > 4).length;
    assert.ok(overSize <= 15, `spent ${overSize} s above 4 workers`);
    assert.ok(events.length <= 6, `bounded: ${JSON.stringify(events)}`);
    assert.ok((sizes.at(-1) as number) <= 4);
  });

  test('shrinks idle pools slowly and never below min', () => {
    const clock = new ManualClock();
    const { sizes } = simulate(scaler(clock), clock, { cpus: 8, min: 2, max: 16, start: 10, serviceMs: 50, rate: () => 0 }, 200);
    assert.equal(sizes[10], 10, 'not before downAfterMs');
    assert.equal(sizes.at(-1), 2);
  });

  test('holds while the pool is cooling down after a change', () => {
    const clock = new ManualClock();
    const s = scaler(clock, { upAfterMs: 0, cooldownMs: 10_000 });
    const m = (over: Partial<ScalerMetrics>): ScalerMetrics => ({
      now: clock.now(), size: 2, min: 1, max: 8, cpus: 8, queueDepth: 50, busy: 2, idle: 0, cpu: 0.2, elu: NaN,
      arrivalRate: NaN, meanRunMs: NaN, concurrency: NaN, ...over,
    });
    assert.equal(s.sample(m({})), 4, 'one step up (step 2)');
    assert.equal(s.lastDecision, 'up');
    clock.advance(9999);
    assert.equal(s.sample(m({ size: 4 })), 4, 'cooling down');
    clock.advance(1);
    assert.equal(s.sample(m({ size: 4 })), 6);
    clock.advance(10_000);
    assert.equal(s.sample(m({ size: 6, cpu: 0.9 })), 6, 'CPU too busy to grow');
    assert.equal(s.sample(m({ size: 6, cpu: NaN, elu: 0.1 })), 8, 'worker ELU stands in for an unknown CPU reading');
  });

  test('rejects bad options, naming the option', () => {
    assert.throws(() => new HysteresisScaler({ upCpu: 1.5 }), (e: unknown) => e instanceof InvalidOptionError && /size\.scaler\.upCpu/.test(e.message));
    assert.throws(() => new HysteresisScaler({ step: 0 }), /size\.scaler\.step/);
    assert.throws(() => new HysteresisScaler({ downCpu: 0.9, upCpu: 0.5 }), /size\.scaler\.downCpu/);
    assert.throws(() => new HysteresisScaler({ cooldownMs: -1 }), /size\.scaler\.cooldownMs/);
  });
});
