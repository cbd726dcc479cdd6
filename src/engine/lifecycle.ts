/**
 * Worker lifecycle: spawn, start-up (and its time limit), ready, a failed
 * start, replacement after an exit, idle retirement, resize, and stopping a
 * worker. What happens to the tasks of a worker that exited is fates.ts;
 * recycling and restart intensity are supervised.ts.
 *
 * Workers are replaced on exit, never before, so there are never more than
 * `max` alive. A new worker takes queued work while it starts (its outbox
 * goes out when it is ready), so a burst does not wait for start-up.
 */

import { ModuleLoadError, UnknownTaskError, WorkerInitError } from '../api/errors.js';
import { CallbackTimer } from '../time/timer-heap.js';
import { decodeError, type EncodedError } from '../wire/error-codec.js';
import { HookFlag } from '../wire/protocol.js';
import type { SpawnWorker, WorkerEvents, WorkerHandle } from '../worker/handle.js';
import type { Scheduler } from './scheduler.js';
import { Outcome, type Task } from './task.js';
import { SlotState, WorkerSlot } from './worker-slot.js';

type StopWhy = NonNullable<WorkerSlot['killedFor']>;

export class Lifecycle {
  /** Settles when the first worker is ready (start()), or rejects when the pool fails first. */
  readonly started: Promise<void>;
  /** Whether the workers hold the process open (an idle running pool lets it exit). */
  reffed = true;
  /** Whether any worker was ever ready: before that, a worker that cannot start fails the pool. */
  everReady = false;
  /** Consecutive workers that exited before they were ready (after the pool once started), without restart intensity. */
  startFailures = 0;
  #startResolve!: () => void;
  #startReject!: (err: unknown) => void;
  #nextWorkerId = 1;
  readonly #spawnWorker: SpawnWorker;
  readonly #events: WorkerEvents;
  readonly #engine: Scheduler;

  constructor(engine: Scheduler, spawnWorker: SpawnWorker, events: WorkerEvents) {
    this.#engine = engine;
    this.#spawnWorker = spawnWorker;
    this.#events = events;
    this.started = new Promise<void>((resolve, reject) => {
      this.#startResolve = resolve;
      this.#startReject = reject;
    });
    // Nobody may be listening yet; the rejection is delivered through start(), run() and ready().
    this.started.catch(() => undefined);
  }

  /** The pool failed or was terminated before it started. */
  startFailed(err: unknown): void {
    this.#startReject(err);
  }

  spawn(): WorkerSlot | undefined {
    const engine = this.#engine;
    const { options } = engine;
    const id = this.#nextWorkerId++;
    let handle: WorkerHandle;
    try {
      handle = this.#spawnWorker(id, this.#events);
    } catch (err) {
      engine.shutdown.fail(new ModuleLoadError(options.moduleUrl, err));
      return undefined;
    }
    const slot = new WorkerSlot(handle, options.pipeline === 'auto' ? 1 : options.pipeline, options.supervision.recycle.maxTasks);
    slot.spawnedAt = engine.clock.now();
    const startMs = options.startTimeoutMs;
    if (startMs !== Infinity && options.kind !== 'async') {
      slot.startTimer = new CallbackTimer(() => this.#startTimedOut(slot, startMs));
      engine.timers.schedule(slot.startTimer, slot.spawnedAt + startMs);
    }
    engine.workers.add(slot);
    engine.ev.workerSpawned(id, handle.pid);
    if (!this.reffed) handle.ref?.(false);
    // A new worker takes queued work while it starts, up to its room: the queue holds only what is beyond every worker's room.
    const queue = engine.backlog.queue;
    const controls = engine.controls;
    while (queue.size > 0 && slot.canTake && engine.state !== 'failed' && (controls.open || controls.mayStart(queue.peek() as Task))) engine.assign(queue.shift() as Task, slot);
    return slot;
  }

  /**
   * A worker did not become ready within startTimeoutMs (a module whose top
   * level never finishes, an init() that never settles). Before the pool was
   * ever ready that fails the pool like a module that cannot load; later it
   * is a failed start, which restart intensity counts.
   */
  #startTimedOut(slot: WorkerSlot, ms: number): void {
    slot.startTimer = undefined;
    if (slot.state !== SlotState.Starting) return;
    const cause = new Error(`worker ${slot.handle.id} did not become ready within ${ms} ms (startTimeoutMs)`);
    if (!this.everReady) this.#engine.shutdown.fail(new ModuleLoadError(this.#engine.options.moduleUrl, cause));
    else this.#failedStart(slot, cause);
  }

  /**
   * A worker that will not become ready (start-up timeout, a throwing
   * `sluice.init`) after the pool once ran: it takes no more work, what was
   * assigned to it goes back to the queue, and it is stopped. Not marked as
   * killed on purpose: its exit counts as a failed start (and a restart).
   */
  #failedStart(slot: WorkerSlot, cause: Error): void {
    this.#engine.workers.leftStarting(slot);
    slot.state = SlotState.Stopping;
    slot.startError = cause;
    this.#engine.requeueOutbox(slot);
    slot.handle.terminate('init');
    // What was assigned to it goes to a worker that can take it now.
    this.#engine.pump();
  }

  onReady(handle: WorkerHandle, names: string[], hookFlags = 0): void {
    const engine = this.#engine;
    const slot = engine.workers.byId.get(handle.id);
    if (slot === undefined || slot.state !== SlotState.Starting) return;
    if (slot.startTimer !== undefined) {
      engine.timers.cancel(slot.startTimer);
      slot.startTimer = undefined;
    }
    engine.workers.leftStarting(slot);
    slot.names = new Map(names.map((n, i) => [n, i]));
    slot.state = SlotState.Ready;
    // Assigned while it started, but the pool has shrunk (placement decides again, under the resize's bound) or paused since.
    if (engine.workers.draining.size > 0 || engine.controls.paused) engine.requeueOutbox(slot);
    // Tasks assigned while it started go out now.
    if (slot.outbox.length > 0) engine.dispatch.markDirty(slot);
    else engine.workers.freed(slot);
    slot.hooks = hookFlags;
    engine.supervised.ready(slot);
    engine.ev.workerReady(handle.id, engine.clock.now() - slot.spawnedAt);
    this.startFailures = 0;
    if (!this.everReady) this.#firstReady(names);
    if (engine.state === 'closing' || engine.state === 'closed') {
      engine.shutdown.checkDrained();
      if (engine.state === 'closing' && engine.backlog.queue.size === 0 && slot.outbox.length === 0) this.kill(slot, 'close');
    }
    engine.pump();
    this.scheduleIdle(slot);
    this.unrefIfIdle();
  }

  /** The module's task names are known: the pool runs; tasks queued before, for names it lacks, are refused. */
  #firstReady(names: string[]): void {
    const engine = this.#engine;
    this.everReady = true;
    engine.taskList = names;
    const known = (engine.knownNames = new Set(names));
    if (engine.state === 'starting') engine.state = 'running';
    this.#startResolve();
    // Refused once the known ones are back in the queue (a settle may be what a close waits for).
    // In place: the queue keeps its order (drop-oldest goes by age).
    const queue = engine.backlog.queue;
    if (queue.size > 0) {
      const unknown = queue.snapshot().filter((t) => !known.has(t.name));
      for (const t of unknown) engine.settle(t, new UnknownTaskError(t.name, names), undefined, Outcome.Rejected);
    }
  }

  onInitError(handle: WorkerHandle, enc: EncodedError, phase?: string): void {
    const engine = this.#engine;
    const slot = engine.workers.byId.get(handle.id);
    if (phase === 'init') {
      // The module loaded but its sluice.init threw: before the pool ever
      // started this fails it like a module that cannot load; later it is a
      // worker that failed to start (restart intensity counts it).
      const err = new WorkerInitError(handle.id, decodeError(enc, '(sluice.init)'));
      if (!this.everReady) engine.shutdown.fail(err);
      else if (slot !== undefined) this.#failedStart(slot, err);
      return;
    }
    engine.shutdown.fail(new ModuleLoadError(engine.options.moduleUrl, decodeError(enc, '(module load)')));
    if (slot !== undefined) this.kill(slot, 'close');
  }

  /** Keeps at least `min` workers (at least one while work is queued). */
  replenish(): void {
    const engine = this.#engine;
    if (!engine.accepting && engine.state !== 'closing') return;
    const workers = engine.workers;
    const want = Math.max(engine.options.min, engine.backlog.depth > 0 ? 1 : 0);
    if (workers.list.length < want && engine.supervised.spawnsHeld) return;
    while (workers.list.length < want) this.spawn();
  }

  /** A backlog grows the pool toward its target (toward max without a scaler), one worker per call. */
  grow(): void {
    const engine = this.#engine;
    if (!engine.accepting) return;
    const list = engine.workers.list;
    if (engine.backlog.queue.size === 0 || list.length >= engine.options.max || engine.supervised.spawnsHeld) return;
    let stopping = 0;
    for (const s of list) if (s.state === SlotState.Stopping) stopping++;
    // Queued work gets at least one worker, even after resize(0).
    if (list.length - stopping >= Math.max(engine.workers.target, 1)) return;
    // Every worker, started or starting, is full (the queue would be empty
    // otherwise), also before the first worker is ready: the new worker takes queued work at once (spawn).
    this.spawn();
  }

  /**
   * Sets the size the pool heads for, clamped to [min, max]: grows by
   * spawning at once; shrinks by retiring idle workers first, then draining
   * busy ones (they take no new work and stop once their tasks finish).
   */
  resize(n: number): void {
    const engine = this.#engine;
    if (!engine.accepting) return;
    const { min, max } = engine.options;
    const workers = engine.workers;
    const target = Math.min(max, Math.max(min, n));
    workers.target = target;
    let live = workers.live();
    // Never more than max alive: workers still exiting count until they are gone (grow adds the rest later).
    while (live < target && workers.list.length < max && !engine.supervised.spawnsHeld) {
      this.spawn();
      live++;
    }
    if (live <= target) return;
    // Idle first, then the least loaded (a starting worker's load is what was assigned to it; retiring it puts that back in the queue).
    const candidates = workers.list.filter((s) => s.state !== SlotState.Stopping && !workers.draining.has(s));
    candidates.sort((a, b) => a.load - b.load);
    for (const slot of candidates) {
      if (live <= target) break;
      live--;
      this.drain(slot);
    }
  }

  /** The pool no longer wants this worker: an idle one stops now, a busy one takes no new work and stops when its tasks are done. */
  drain(slot: WorkerSlot): void {
    if (slot.inflightCount === 0) this.retireNow(slot);
    else {
      this.#engine.workers.draining.add(slot);
      // No new work: a draining worker is not Ready, so selection skips it.
      slot.state = SlotState.Stopping;
    }
  }

  /** Stops a worker the pool no longer wants (a draining one is already marked Stopping). */
  retireNow(slot: WorkerSlot): void {
    const why = slot.recycling ? 'recycle' : 'retire';
    this.#engine.workers.leftStarting(slot);
    this.#stopping(slot, why);
    // A worker retired while starting may hold tasks assigned to it: they go back to the queue now, not at its exit.
    this.#engine.requeueOutbox(slot);
    this.stop(slot, why);
  }

  scheduleIdle(slot: WorkerSlot): void {
    const engine = this.#engine;
    const { idleTimeoutMs, min } = engine.options;
    if (idleTimeoutMs === Infinity || slot.state !== SlotState.Ready || slot.load > 0) return;
    // Workers already stopping do not count toward min: they are going.
    if (engine.workers.list.length <= min || engine.workers.live() <= min) return;
    slot.idleTimer ??= new CallbackTimer(() => {
      if (slot.state === SlotState.Ready && slot.load === 0 && engine.workers.live() > min) this.kill(slot, 'retire');
    });
    engine.timers.schedule(slot.idleTimer, engine.clock.now() + idleTimeoutMs);
  }

  /** Terminates a worker now (a draining one too: it is Stopping but still running its last tasks). */
  kill(slot: WorkerSlot, why: StopWhy): void {
    if (slot.state === SlotState.Stopping && !this.#engine.workers.draining.delete(slot)) return;
    this.#stopping(slot, why);
    slot.handle.terminate(why);
  }

  /** Stops every worker not already stopping (draining ones too): the pool closes. Graceful where the module has a teardown. */
  stopAll(): void {
    for (const s of [...this.#engine.workers.list]) {
      if (s.state === SlotState.Stopping && !this.#engine.workers.draining.delete(s)) continue;
      this.#stopping(s, 'close');
      this.stop(s, 'close');
    }
  }

  /** Marks a worker as going, and why. */
  #stopping(slot: WorkerSlot, why: StopWhy): void {
    slot.killedFor = why;
    slot.state = SlotState.Stopping;
    if (slot.idleTimer !== undefined) this.#engine.timers.cancel(slot.idleTimer);
  }

  /** Graceful where the module has a teardown (it runs, bounded by teardownTimeoutMs); otherwise terminate at once. */
  stop(slot: WorkerSlot, why: 'retire' | 'recycle' | 'close'): void {
    const h = slot.handle;
    if ((slot.hooks & HookFlag.Teardown) !== 0 && h.stop !== undefined) h.stop(this.#engine.options.supervision.teardownTimeoutMs);
    else h.terminate(why);
  }

  /** A running pool with no work anywhere lets its workers stop holding the process open. */
  unrefIfIdle(): void {
    const engine = this.#engine;
    if (engine.state === 'running' && engine.counts.running === 0 && engine.backlog.depth === 0 && engine.retries.size === 0) this.setRef(false);
  }

  /** There is work: workers hold the process open again (an idle pool lets it exit: unrefIfIdle). */
  holdOpen(): void {
    if (!this.reffed) this.setRef(true);
  }

  setRef(on: boolean): void {
    this.reffed = on;
    for (const s of this.#engine.workers.list) s.handle.ref?.(on);
  }
}
