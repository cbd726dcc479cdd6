/**
 * The engine's periodic sample, every `saturation.sampleMs` on the pool's
 * clock: the load window, the saturation and latency alarms, Little's-law
 * figures, and, for a pool with `size.scaler`, the size the scaler wants
 * (applied through resize). The policies are pure modules in src/sizing/;
 * this part feeds them and acts on what they say.
 */

import { CpuSignal } from '../sizing/cpu-signal.js';
import { LatencyAlarm, SaturationAlarm } from '../sizing/alarms.js';
import { LittleMeter } from '../sizing/little.js';
import { LoadWindow } from '../sizing/load-window.js';
import type { Scaler } from '../sizing/scaler.js';
import { CallbackTimer } from '../time/timer-heap.js';
import type { Scheduler } from './scheduler.js';
import { SlotState } from './worker-slot.js';

export class Sampling {
  readonly load: LoadWindow;
  /** Little's law: arrivals are counted at submit, time in system at each result. */
  readonly little: LittleMeter;
  readonly latencyAlarm: LatencyAlarm;
  readonly #saturation: SaturationAlarm;
  /** Adaptive sizing: the scaler and its CPU signal. */
  readonly #scaler: Scaler | undefined;
  readonly #cpu: CpuSignal | undefined;
  readonly #timer: CallbackTimer;
  #completedAtLastSample = 0;
  readonly #engine: Scheduler;

  constructor(engine: Scheduler) {
    this.#engine = engine;
    const { saturation, max, scaler, cpus } = engine.options;
    this.load = new LoadWindow(saturation.sampleMs, saturation.windowMs);
    this.#saturation = new SaturationAlarm(saturation.afterMs, saturation.factor * max, engine.emit);
    this.latencyAlarm = new LatencyAlarm(saturation.afterMs, saturation.latencyFactor, engine.emit);
    this.little = new LittleMeter(engine.clock.now(), 10 * saturation.sampleMs);
    this.#scaler = scaler;
    this.#cpu = scaler === undefined ? undefined : new CpuSignal(cpus);
    this.#timer = new CallbackTimer(() => this.#sample());
  }

  start(): void {
    const engine = this.#engine;
    engine.timers.schedule(this.#timer, engine.clock.now() + engine.options.saturation.sampleMs);
  }

  #sample(): void {
    const engine = this.#engine;
    if (engine.state === 'closed' || engine.state === 'failed') return;
    const depth = engine.backlog.depth;
    let busy = 0;
    let ready = 0;
    for (const s of engine.workers.list) {
      if (s.state !== SlotState.Ready) continue;
      ready++;
      if (s.load > 0) busy++;
    }
    const now = engine.clock.now();
    const completed = engine.counts.completed;
    this.load.record(depth, ready === 0 ? 0 : busy / ready, completed - this.#completedAtLastSample);
    this.#completedAtLastSample = completed;
    this.latencyAlarm.sample(now);
    this.#saturation.sample(now, depth);
    this.little.fold(now);
    if (this.#scaler !== undefined && engine.state === 'running') this.#scale(this.#scaler, now, depth, busy, ready - busy);
    engine.timers.schedule(this.#timer, now + engine.options.saturation.sampleMs);
  }

  /** Hands the scaler a sample and applies the size it wants. */
  #scale(scaler: Scaler, now: number, depth: number, busy: number, idle: number): void {
    const engine = this.#engine;
    const { cpu, elu } = (this.#cpu as CpuSignal).read(engine.workers.list.map((s) => s.handle));
    const { min, max, cpus } = engine.options;
    const size = engine.workers.live();
    const want = scaler.sample({ now, size, min, max, cpus, queueDepth: depth, busy, idle, cpu, elu, ...this.little.summary() });
    if (typeof want === 'number' && Number.isFinite(want)) engine.life.resize(Math.round(want));
  }
}
