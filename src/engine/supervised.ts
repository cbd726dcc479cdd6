/**
 * The engine's side of supervision (the policies are pure modules in
 * src/supervision/; docs/supervision.md): periodic checks that find stalled
 * and leaking workers, recycling, circuit breakers, and restart intensity
 * with its respawn delay, recoverable failure and probe.
 *
 * Recycling retires a worker and replaces it. The replacement starts first
 * and the old worker keeps taking work until it is ready (then it drains: no
 * new work, finishes its tasks, runs teardown, exits). One recycle at a
 * time, so at most max + 1 workers are alive; a deferred recycle is retried
 * at the next check, result batch or exit.
 *
 * Isolating the failing subset: every outcome of a task that ran is
 * recorded against its worker (`judge`, for each attempt). A worker whose
 * record stands out from its peers' (supervision/isolation.ts) is under
 * suspicion: placement passes it over, the breakers leave its outcomes
 * out, and with quarantine on it is drained and replaced at once, its
 * unstarted tasks asked back for the others. The breakers then open only on
 * failures spread over the pool (docs/supervision.md, "Breakers and
 * quarantine").
 */

import { PoolFailedError, WorkerStalledError, type StallReport } from '../api/errors.js';
import { Breakers, countsAsFailure } from '../supervision/circuit-breaker.js';
import { DEFAULT_OUTLIER_RULE, Suspicion } from '../supervision/isolation.js';
import { revoke } from './steal.js';
import type { RecycleWhy } from '../supervision/recycle.js';
import { RestartIntensity } from '../supervision/restart-intensity.js';
import { Supervisor } from '../supervision/supervisor.js';
import { CallbackTimer } from '../time/timer-heap.js';
import type { ExitInfo } from '../worker/handle.js';
import type { Scheduler } from './scheduler.js';
import type { Task } from './task.js';
import { TaskState } from './task.js';
import { INFLIGHT_MASK, SlotState, type WorkerSlot } from './worker-slot.js';

export class Supervised {
  /** Periodic checks (stalls, memory, health); none for kind 'async'. */
  readonly checks: Supervisor | undefined;
  readonly intensity: RestartIntensity | undefined;
  readonly breakers: Breakers | undefined;
  /** Which workers are under suspicion; kept while breakers or quarantine are on. */
  readonly suspicion: Suspicion | undefined;
  readonly #quarantine: boolean;
  #quarantineQueued = false;
  /** Whether outcomes are judged (`judge`): breakers or quarantine are on. */
  readonly judging: boolean;
  /** Failed by restart intensity (recoverable), not by a module that cannot load. */
  recoverable = false;
  readonly #maxTasks: number;
  /** Workers being recycled (at most one at a time: the capacity bound is max + 1). */
  #recycling = 0;
  #probeTimer: CallbackTimer | undefined;
  /** Restart intensity's respawn delay: no replacement spawns before this time (pool clock); 0: none. */
  #spawnHeldUntil = 0;
  #respawnTimer: CallbackTimer | undefined;
  readonly #engine: Scheduler;

  constructor(engine: Scheduler) {
    this.#engine = engine;
    const { supervision: sup, kind } = engine.options;
    this.#maxTasks = sup.recycle.maxTasks;
    this.intensity = sup.restartIntensity === undefined ? undefined : new RestartIntensity(sup.restartIntensity);
    this.#quarantine = sup.quarantine !== undefined;
    const suspicion = sup.circuitBreaker === undefined && sup.quarantine === undefined ? undefined : new Suspicion(sup.quarantine ?? DEFAULT_OUTLIER_RULE);
    this.suspicion = suspicion;
    this.judging = suspicion !== undefined;
    this.breakers = sup.circuitBreaker === undefined ? undefined : new Breakers(sup.circuitBreaker, suspicion === undefined ? undefined : (w) => suspicion.excluded(w), () => engine.workers.live());
    this.checks =
      kind === 'async'
        ? undefined
        : new Supervisor(
            sup,
            {
              kind,
              slots: () => engine.workers.list,
              stalled: (slot, report, task) => this.#onStalled(slot, report, task),
              recycle: (slot, why) => this.recycle(slot, why),
              leaking: (slot, heapUsed) => engine.emit('worker-leaking', { workerId: slot.handle.id, heapUsed }),
              suspects: () => this.#review(),
            },
            engine.timers,
            engine.clock,
          );
  }

  /** A worker became ready: supervised from now on; a replacement lets its old worker go; a probe may recover the pool. */
  ready(slot: WorkerSlot): void {
    this.checks?.ready(slot, this.#engine.clock.now());
    if (slot.replaces !== undefined) this.#drainRecycled(slot);
    if (this.recoverable) this.#probeReady(slot);
  }

  /**
   * One outcome of a task that ran (each attempt: a retried failure too),
   * with the worker it ran on: suspicion first, so the failure that makes
   * a worker suspect is already left out of the breakers. Refusals, aborts,
   * drops and deadlines say nothing about a worker or a task: not counted.
   */
  judge(task: Task, failed: boolean, err: unknown, final: boolean): void {
    if (failed && !countsAsFailure((err as { code?: unknown } | null | undefined)?.code)) return;
    // The worker it ran on (a task that never reached one has none).
    const slot = task.slot;
    const suspicion = this.suspicion;
    if (slot !== undefined && suspicion !== undefined) {
      if (suspicion.record(slot.handle.id, failed)) {
        for (const s of this.#engine.workers.list) if (suspicion.suspect(s.handle.id)) this.#suspected(s);
      }
      // A suspect still failing whose quarantine had to wait (one recycle at a time): try again.
      else if (failed && suspicion.suspect(slot.handle.id) && !slot.recycling) this.#queueQuarantine();
      slot.suspect = suspicion.avoid(slot.handle.id);
    }
    if (final) this.breakers?.record(task.name, failed, slot?.handle.id);
  }

  /** A worker came under suspicion: passed over by placement, left out by the breakers, quarantined if that is on. */
  #suspected(slot: WorkerSlot): void {
    slot.suspect = true;
    this.breakers?.reconsider(this.#engine.clock.now());
    this.#queueQuarantine();
  }

  /** Quarantines the suspects a microtask from now: not from inside a result batch, whose books the engine finishes first. */
  #queueQuarantine(): void {
    if (!this.#quarantine || this.#quarantineQueued) return;
    this.#quarantineQueued = true;
    queueMicrotask(() => {
      this.#quarantineQueued = false;
      this.#quarantineSuspects();
    });
  }

  /** The periodic check's review: suspicion looked at afresh; the suspects to quarantine. */
  #review(): Iterable<number> {
    const suspicion = this.suspicion as Suspicion;
    for (const id of suspicion.review()) {
      const slot = this.#engine.workers.byId.get(id);
      if (slot !== undefined) slot.suspect = true;
    }
    for (const slot of this.#engine.workers.list) slot.suspect = suspicion.avoid(slot.handle.id);
    this.breakers?.reconsider(this.#engine.clock.now());
    return [...suspicion.suspects];
  }

  #quarantineSuspects(): void {
    const suspicion = this.suspicion as Suspicion;
    for (const id of [...suspicion.suspects]) {
      const slot = this.#engine.workers.byId.get(id);
      if (slot !== undefined) this.recycle(slot, 'quarantine');
    }
  }

  /** Retires a worker and replaces it (see the file comment). */
  recycle(slot: WorkerSlot, why: RecycleWhy): void {
    const engine = this.#engine;
    // While closing too: a worker at its maxTasks takes no more work, and the queue still has to drain.
    if ((engine.state !== 'running' && engine.state !== 'closing') || slot.state !== SlotState.Ready || slot.recycling || this.#recycling > 0) return;
    this.#recycling++;
    slot.recycling = true;
    if (why === 'quarantine') {
      engine.counts.quarantined++;
      this.suspicion?.isolate(slot.handle.id);
      this.#askBackAll(slot);
    }
    engine.ev.workerRecycled(slot.handle.id, why);
    // Quarantine and a failed health check mean the worker is bad: stop its new work now.
    if (why === 'quarantine' || why === 'unhealthy') this.#drainRecycled(undefined, slot);
    const spawned = engine.life.spawn();
    if (spawned !== undefined) spawned.replaces = slot;
  }

  /**
   * A quarantined worker's tasks that have not started are asked back
   * (`Op.Revoke`, as work stealing does): it drops each one it has not
   * started and the engine requeues it for the others; a task that started
   * meanwhile runs and answers as usual, so none runs twice.
   */
  #askBackAll(slot: WorkerSlot): void {
    const seqs: number[] = [];
    for (let seq = slot.seq; seq > slot.seq - slot.inflightCount && seq > 0; seq--) {
      const task = slot.inflight[seq & INFLIGHT_MASK];
      if (task === undefined || task.state !== TaskState.Dispatched || task.slot !== slot || task.seq !== seq || slot.revoking.has(seq)) continue;
      seqs.push(seq);
    }
    if (seqs.length > 0) revoke(slot, seqs);
  }

  /** The replacement is ready (or the worker is bad): the old worker drains and leaves. */
  #drainRecycled(replacement: WorkerSlot | undefined, old = replacement?.replaces): void {
    if (replacement !== undefined) replacement.replaces = undefined;
    if (old === undefined || old.state !== SlotState.Ready) return;
    this.#engine.counts.recycled++;
    this.#engine.life.drain(old);
  }

  #onStalled(slot: WorkerSlot, report: StallReport, task: Task | undefined): void {
    const err = new WorkerStalledError(report);
    slot.stallError = err;
    this.#engine.ev.workerStalled(slot.handle.id, task, report, err);
    this.#engine.life.kill(slot, 'stalled');
  }

  /** Supervision's part of a worker exit: recycle bookkeeping and restart intensity. */
  exited(slot: WorkerSlot, info: ExitInfo): void {
    const engine = this.#engine;
    this.checks?.gone(slot);
    this.suspicion?.gone(slot.handle.id);
    if (slot.recycling) {
      this.#recycling--;
      slot.recycling = false;
    }
    // A replacement that died before it was ready: the old worker stays on (and, if it is due, is recycled again below).
    const old = slot.replaces;
    if (old !== undefined && old.recycling && old.state === SlotState.Ready) {
      old.recycling = false;
      this.#recycling--;
    }
    // One recycle at a time: a suspect that waited goes next.
    if (this.#recycling === 0 && this.suspicion !== undefined && this.suspicion.suspects.size > 0) this.#queueQuarantine();
    // One recycle at a time: a worker that came due meanwhile goes next, even in an idle pool.
    if (this.#maxTasks !== Infinity && this.#recycling === 0) {
      const due = engine.workers.list.find((s) => s.state === SlotState.Ready && s.left <= 0);
      if (due !== undefined) this.recycle(due, 'max-tasks');
    }
    const why = slot.killedFor;
    const restart = why === undefined || why === 'stalled' || why === 'init';
    const intensity = this.intensity;
    if (!restart || intensity === undefined || engine.state === 'closing' || engine.state === 'closed') return;
    if (engine.state === 'failed') {
      if (this.recoverable) this.#scheduleProbe(intensity);
      return;
    }
    const cause = slot.stallError ?? slot.startError ?? info.error ?? new Error(`worker ${slot.handle.id} exited with code ${String(info.code)}${info.signal !== null ? ` (${info.signal})` : ''}`);
    const now = engine.clock.now();
    // Barren: it did no work, or it ended itself while running no task (a timer in the module calling exit),
    // within the intensity window of its spawn: restarting it does not help, however much it did meanwhile.
    const barren = (slot.completed === 0 || info.idle === true) && now - slot.spawnedAt < intensity.policy.withinMs;
    if (!intensity.record(now, cause, barren)) {
      // Restarts in a row that did no work wait a growing delay: a crash loop then costs little CPU until it is stopped.
      const delay = intensity.respawnDelay();
      if (delay > 0) this.#holdSpawns(now + delay);
      return;
    }
    // Too many restarts too fast, or too many in a row that did no work: stop the spawn loop; fail recoverably.
    const err = new PoolFailedError(intensity.recent, intensity.policy.withinMs, intensity.causes, intensity.barren);
    engine.shutdown.fail(err);
    this.recoverable = true;
    engine.emit('pool-failed', { error: err });
    this.#scheduleProbe(intensity);
  }

  /** Whether restart intensity holds spawning back right now. */
  get spawnsHeld(): boolean {
    return this.#spawnHeldUntil > 0 && this.#engine.clock.now() < this.#spawnHeldUntil;
  }

  /** No replacement or growth spawns before `until` (restart intensity's respawn delay); then the pool fills up again. */
  #holdSpawns(until: number): void {
    const engine = this.#engine;
    this.#spawnHeldUntil = until;
    const timer = (this.#respawnTimer ??= new CallbackTimer(() => {
      if (engine.state !== 'running' && engine.state !== 'starting' && engine.state !== 'closing') return;
      engine.life.replenish();
      engine.pump();
    }));
    engine.timers.schedule(timer, until);
  }

  /** While failed by restart intensity: one probe worker after a growing backoff. */
  #scheduleProbe(intensity: RestartIntensity): void {
    const engine = this.#engine;
    const timer = (this.#probeTimer ??= new CallbackTimer(() => {
      if (!this.recoverable || engine.state !== 'failed') return;
      // Workers stopped by the failure may still be exiting: wait for them (never more than max alive).
      if (engine.workers.list.length === 0) engine.life.spawn();
      else engine.timers.schedule(timer, engine.clock.now() + intensity.policy.backoffMs);
    }));
    if (timer.index !== -1) return;
    engine.timers.schedule(timer, engine.clock.now() + intensity.nextProbeDelay());
  }

  /** A probe is ready: if it is still up after recoverAfterMs, the pool runs again. */
  #probeReady(slot: WorkerSlot): void {
    const engine = this.#engine;
    const intensity = this.intensity as RestartIntensity;
    const timer = new CallbackTimer(() => {
      if (!this.recoverable || engine.state !== 'failed' || slot.state !== SlotState.Ready) return;
      this.recoverable = false;
      intensity.recovered();
      engine.failure = undefined;
      engine.state = 'running';
      engine.emit('pool-recovered', { workerId: slot.handle.id });
      engine.life.replenish();
      engine.pump();
    });
    engine.timers.schedule(timer, engine.clock.now() + intensity.policy.recoverAfterMs);
  }
}
