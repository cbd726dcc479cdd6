/**
 * Pool controls: pause and resume, `clear()` and `close({ cancelQueued })`,
 * the start-rate limit, and waiting for quiet (`idle()`, `empty()` and the
 * `'idle'` / `'drain'` events).
 *
 * "Not started" means wherever a task waits: the queue, the waiting list, a
 * retry backoff, a worker's outbox, or a worker's inbox. Tasks in an inbox
 * are asked back (Op.Revoke) and a barrier (Op.Sync) tells when the worker
 * has handled the request: a task it had already reached has started and
 * runs on; the others come back Revoked and never run. A worker busy in a
 * synchronous task answers when that task lets go of its event loop.
 *
 * The rate limit gates every start: a task takes a token from the pool-wide
 * window (and its name's, if it has one) as it is dispatched; without one it
 * stays queued, holding no worker, and the queue is pumped again when the
 * next token comes back. FIFO is kept: a task waiting for its name's token
 * holds the tasks behind it.
 */

import { PoolClosedError, TaskAbortedError } from '../api/errors.js';
import { StartWindow } from '../queue/start-window.js';
import { CallbackTimer } from '../time/timer-heap.js';
import { Op } from '../wire/protocol.js';
import { revoke } from './steal.js';
import type { Scheduler } from './scheduler.js';
import { Outcome, TaskState, type Task } from './task.js';
import { INFLIGHT_MASK, SlotState, type WorkerSlot } from './worker-slot.js';

export class Controls {
  paused = false;
  /** Whether tasks may go straight to a worker without asking mayStart (not paused, no rate limit). */
  open: boolean;
  /** Someone waits for quiet (idle()/empty()) or listens for 'idle'/'drain': settle and pump check for it. */
  armed = false;
  /** Work was accepted since the pool was last idle. */
  busy = false;
  /** Listeners for the 'idle' / 'drain' events are attached. */
  listening = false;
  readonly #pool: StartWindow | undefined;
  readonly #perName = new Map<string, StartWindow>();
  readonly #rateTimer: CallbackTimer;
  #idleWaiters: (() => void)[] = [];
  #emptyWaiters: (() => void)[] = [];
  /** Tasks asked back from a worker for clear() / close({ cancelQueued }): settled with this error when they come back. */
  readonly #clearing = new Map<Task, Error>();
  /** Tasks asked back by pause or clear, until they come back or the worker answers the barrier. */
  readonly #asked = new Set<Task>();
  #syncs = new Map<number, { slot: WorkerSlot; done: () => void }>();
  #nextSync = 1;
  readonly #engine: Scheduler;

  constructor(engine: Scheduler) {
    this.#engine = engine;
    const rate = engine.options.rateLimit;
    if (rate !== undefined) {
      this.#pool = new StartWindow(rate.tasks, rate.perMs);
      for (const [name, r] of rate.perName) this.#perName.set(name, new StartWindow(r.tasks, r.perMs));
    }
    this.open = this.#pool === undefined;
    this.#rateTimer = new CallbackTimer(() => {
      if (engine.accepting || engine.state === 'closing') engine.pump();
    });
  }

  /** Whether this task may start now; takes its token(s) if so. */
  mayStart(task: Task): boolean {
    if (this.paused) return false;
    const pool = this.#pool;
    if (pool === undefined) return true;
    const now = this.#engine.clock.now();
    const own = this.#perName.get(task.name);
    // Both must be free before either is taken.
    if (own !== undefined && own.nextAt() > now) return this.#waitFor(own.nextAt());
    if (!pool.take(now)) return this.#waitFor(pool.nextAt());
    own?.take(now);
    return true;
  }

  #waitFor(at: number): false {
    const timers = this.#engine.timers;
    if (this.#rateTimer.index === -1 || this.#rateTimer.at > at) timers.schedule(this.#rateTimer, at);
    return false;
  }

  /** No task starts once this settles; running ones go on. */
  pause(): Promise<void> {
    this.paused = true;
    this.open = false;
    return this.#askBack(undefined).then(() => undefined);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.open = this.#pool === undefined;
    this.#engine.pump();
  }

  /**
   * Rejects every task that has not started with `err` (TaskAbortedError
   * for clear(), PoolClosedError for close({ cancelQueued })); resolves
   * with how many, once the workers have given back what they had not
   * reached.
   */
  async clear(err: (task: Task) => Error): Promise<number> {
    const engine = this.#engine;
    let n = 0;
    const reject = (t: Task): void => {
      n++;
      engine.settle(t, err(t), undefined, Outcome.Rejected);
    };
    for (const slot of engine.workers.list) {
      const outbox = slot.outbox;
      slot.outbox = [];
      for (const t of outbox) if (t.state === TaskState.Dispatched && t.slot === slot) reject(t);
    }
    for (const t of engine.backlog.drain()) reject(t);
    for (const t of engine.retries.drain()) reject(t);
    n += await this.#askBack(err);
    engine.pump();
    return n;
  }

  /**
   * A task came back from its worker before it started. One that pause or
   * clear asked back is placed here (rejected, for a clear; else requeued)
   * and true is returned; false: it was not theirs (work stealing's).
   */
  revoked(task: Task): boolean {
    if (!this.#asked.delete(task)) return false;
    const err = this.#clearing.get(task);
    if (err === undefined) this.#engine.requeue(task);
    else {
      this.#clearing.delete(task);
      this.#engine.settle(task, err, undefined, Outcome.Rejected);
    }
    return true;
  }

  /**
   * Asks every worker for the tasks it has not started; with `err`, each
   * that comes back is rejected with it instead of requeued. Resolves with
   * how many came back, once every worker has answered (or exited).
   */
  async #askBack(err: ((task: Task) => Error) | undefined): Promise<number> {
    const engine = this.#engine;
    // Assigned but not yet sent: back to the queue (a clear has already taken them).
    for (const slot of engine.workers.list) engine.requeueOutbox(slot);
    const waits: Promise<void>[] = [];
    const asked: Task[] = [];
    for (const slot of engine.workers.list) {
      if (slot.inflightCount === 0 || slot.state === SlotState.Starting) continue;
      const h = slot.handle;
      const seqs: number[] = [];
      for (const task of slot.inflight) {
        if (task === undefined || task.state !== TaskState.Dispatched || task.slot !== slot || h.startedAt(task.seq) !== undefined) continue;
        seqs.push(task.seq);
      }
      if (seqs.length === 0) continue;
      const id = this.#nextSync++;
      if (!revoke(slot, seqs)) continue; // gone: its exit places what never started
      try {
        h.send([Op.Sync, id]);
      } catch {
        continue;
      }
      for (const seq of seqs) {
        const task = slot.inflight[seq & INFLIGHT_MASK] as Task;
        asked.push(task);
        this.#asked.add(task);
        if (err !== undefined) this.#clearing.set(task, err(task));
      }
      waits.push(new Promise<void>((resolve) => this.#syncs.set(id, { slot, done: resolve })));
    }
    await Promise.all(waits);
    // Still marked: the worker had reached it (it runs on), so the clear does not apply.
    let back = 0;
    for (const t of asked) {
      this.#asked.delete(t);
      if (!this.#clearing.delete(t)) back++;
    }
    return back;
  }

  /** A worker answered a barrier. */
  synced(requestId: number): void {
    const s = this.#syncs.get(requestId);
    if (s === undefined) return;
    this.#syncs.delete(requestId);
    s.done();
  }

  /** A worker exited: barriers it will never answer are answered now (its exit has placed its tasks: fates.ts). */
  exited(slot: WorkerSlot): void {
    for (const [id, s] of this.#syncs) {
      if (s.slot !== slot) continue;
      this.#syncs.delete(id);
      s.done();
    }
  }

  /** The facade has 'idle' / 'drain' listeners (true) or no longer has any. */
  listen(on: boolean): void {
    this.listening = on;
    if (on) this.armed = true;
  }

  /** Resolves when nothing is queued, waiting, backing off or running. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    this.armed = true;
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Resolves when nothing is queued or waiting for room. */
  empty(): Promise<void> {
    if (this.#engine.backlog.depth === 0) return Promise.resolve();
    this.armed = true;
    return new Promise<void>((resolve) => this.#emptyWaiters.push(resolve));
  }

  /** Called (while armed) after a settle or a pump: hands out 'drain' and 'idle'. */
  check(): void {
    const engine = this.#engine;
    const backlog = engine.backlog;
    if (backlog.depth !== 0) return;
    if (backlog.touched) {
      backlog.touched = false;
      if (this.listening) engine.emit('drain', undefined);
    }
    if (this.#emptyWaiters.length > 0) for (const w of this.#take('empty')) w();
    if (!this.#isIdle()) return;
    if (this.busy) {
      this.busy = false;
      if (this.listening) engine.emit('idle', undefined);
    }
    for (const w of this.#take('idle')) w();
    this.armed = this.listening;
  }

  #take(which: 'idle' | 'empty'): (() => void)[] {
    const list = which === 'idle' ? this.#idleWaiters : this.#emptyWaiters;
    if (which === 'idle') this.#idleWaiters = [];
    else this.#emptyWaiters = [];
    return list;
  }

  #isIdle(): boolean {
    const engine = this.#engine;
    return engine.backlog.depth === 0 && engine.counts.running === 0 && engine.retries.size === 0;
  }
}

/** clear(reason): each task's TaskAbortedError carries the reason as its cause. */
export function clearedError(reason: unknown): (task: Task) => Error {
  return (task) => new TaskAbortedError(task.name, reason);
}

/** close({ cancelQueued: true }). */
export function closedError(): (task: Task) => Error {
  return () => new PoolClosedError('pool closed with cancelQueued; the task had not started');
}
