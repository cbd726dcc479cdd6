/**
 * The engine's backlog: work accepted but on no worker yet. The queue (a
 * FIFO until the first task with a priority arrives, then a heap), the
 * callers waiting for room under `overflow: 'wait'`, the `ready()` waiters,
 * and what happens when the queue is full (the overflow policy).
 *
 * The backlog never settles a task itself: a refused, dropped or timed-out
 * task goes back to the scheduler, which settles every task in one place.
 */

import { InvalidOptionError, QueueFullError, TaskDroppedError } from '../api/errors.js';
import { overflowPolicies } from '../api/options.js';
import { oneOf } from '../config/validate-helpers.js';
import type { ResolvedPoolOptions } from '../config/validate.js';
import { PriorityQueue } from '../queue/priority-queue.js';
import { microtask } from '../time/microtask.js';
import { FifoQueue, type TaskQueue } from '../queue/task-queue.js';
import type { Scheduler } from './scheduler.js';
import { Outcome, TaskState, TaskTimer, type Task } from './task.js';
import { SlotState, type WorkerSlot } from './worker-slot.js';

/** QueueFullError's advice needs a burst of at least this many tasks in one tick (a few are no pattern). */
const BURST_ADVICE_MIN = 16;

export class Backlog {
  /** Set when a task is queued; 'drain' is due when the backlog empties again (Controls.check). */
  touched = false;
  /** FIFO until the first task with a priority arrives, then a heap (see usePriorities). */
  queue: TaskQueue<Task> = new FifoQueue<Task>();
  #priorities: PriorityQueue<Task> | undefined;
  /** Callers held by `overflow: 'wait'` until the queue has room. */
  readonly waiting = new FifoQueue<Task>();
  #readyWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  readonly #engine: Scheduler;
  readonly #options: ResolvedPoolOptions;
  /**
   * Tasks of the current tick that found no free worker (queued, held or
   * refused), for QueueFullError's advice: more than the queue holds in one
   * tick is the `Promise.all(inputs.map(...))` pattern. The tick's first
   * one queues the reset, so only tasks that find no worker pay, an
   * increment and a compare each and one microtask a tick.
   */
  #burst = 0;
  readonly #endTick = (): void => {
    this.#burst = 0;
  };

  constructor(engine: Scheduler, options: ResolvedPoolOptions) {
    this.#engine = engine;
    this.#options = options;
  }

  #countBurst(): void {
    if (this.#burst++ === 0) microtask(this.#endTick);
  }

  /** The full queue's error, with advice when this tick's tasks alone overfilled the queue (or the wait list). */
  #full(callers?: number): QueueFullError {
    this.#countBurst();
    const { capacity, maxWaiting } = this.#options;
    const n = this.#burst;
    const burst = n > (callers === undefined ? capacity : capacity + maxWaiting) && n >= BURST_ADVICE_MIN ? n : undefined;
    return new QueueFullError(capacity, this.#engine.counts.running, callers, burst);
  }

  /** Whether one more task fits without waiting (what `ready()` waits for). */
  get hasRoom(): boolean {
    return this.queue.size < this.#options.capacity && this.waiting.size === 0;
  }

  /** Tasks waiting for a worker: queued and held callers. */
  get depth(): number {
    return this.queue.size + this.waiting.size;
  }

  /** A task's place in the priority heap: its priority, aged by how long ago it was submitted (higher runs first). */
  keyOf(task: Task): number {
    return task.priority - task.submittedAt * this.#options.agingRate;
  }

  /** A task with a priority arrived: from now on the queue is a heap (what is queued keeps its order). */
  usePriorities(): void {
    if (this.#priorities !== undefined) return;
    const pq = new PriorityQueue<Task>();
    for (const t of this.queue.drain()) {
      t.qkey = this.keyOf(t);
      pq.push(t);
    }
    this.#priorities = pq;
    this.queue = pq;
  }

  /** A new task (or a retry) into the queue. */
  enqueue(task: Task): void {
    this.#countBurst();
    this.#push(task);
  }

  #push(task: Task): void {
    this.touched = true;
    task.state = TaskState.Queued;
    if (this.#priorities !== undefined) task.qkey = this.keyOf(task);
    this.queue.push(task);
  }

  /** Back to the head of the queue (its worker died or was retired before it started). */
  unshift(task: Task): void {
    task.state = TaskState.Queued;
    // Its own key, for drop-lowest-priority (it goes back to the front whatever the key).
    if (this.#priorities !== undefined) task.qkey = this.keyOf(task);
    this.queue.unshift(task);
  }

  /** Takes a queued or waiting task out before its turn (it is being settled). */
  remove(task: Task): void {
    if (!task.queued) return;
    if (task.state === TaskState.Waiting) this.waiting.delete(task);
    else this.queue.delete(task);
  }

  /** Empties the backlog (the pool failed or is closed): held callers first, then the queue. */
  drain(): Task[] {
    return [...this.waiting.drain(), ...this.queue.drain()];
  }

  /** Resolves when the queue has room for one more task. */
  ready(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  rejectReady(err: unknown): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  /** Room was made: held callers move into the queue (or straight onto a free worker), then `ready()` waiters hear. */
  admit(): void {
    const cap = this.#options.capacity;
    while (this.waiting.size > 0 && this.queue.size < cap) {
      const task = this.waiting.shift() as Task;
      if (task.timer !== undefined) this.#engine.timers.cancel(task.timer);
      if (!this.#engine.placeNow(task)) this.#push(task); // counted when it was held
    }
    if (this.#readyWaiters.length > 0 && this.hasRoom) {
      const waiters = this.#readyWaiters;
      this.#readyWaiters = [];
      for (const w of waiters) w.resolve();
    }
  }

  /** The queue is full: the overflow policy decides. */
  overflow(task: Task): void {
    const engine = this.#engine;
    const { capacity, kind } = this.#options;
    let policy = this.#options.overflow;
    if (typeof policy === 'function') {
      try {
        policy = oneOf('queue.overflow() result', policy({ name: task.name, priority: task.priority, correlationId: engine.ev.corrOf(task), queued: this.queue.size, capacity }), overflowPolicies(kind));
      } catch (err) {
        engine.settle(task, err instanceof InvalidOptionError ? err : new InvalidOptionError('queue.overflow', 'a function that returns a policy', err), undefined, Outcome.Rejected);
        return;
      }
    }
    switch (policy) {
      case 'reject':
        engine.settle(task, this.#full(), undefined, Outcome.Rejected);
        return;
      case 'wait':
        this.#hold(task);
        return;
      case 'caller-runs':
        this.#callerRuns(task);
        return;
      case 'drop-oldest': {
        const victim = this.queue.evictOldest();
        if (victim !== undefined) this.#drop(victim);
        this.enqueue(task);
        return;
      }
      default: {
        // drop-lowest-priority: the incoming task is a candidate too; among equals the newest loses.
        const pq = this.#priorities;
        const lowest = pq?.peekLowest();
        if (pq === undefined || lowest === undefined || this.keyOf(task) <= lowest.qkey) {
          this.#drop(task);
          return;
        }
        this.#drop(pq.evictLowest() as Task);
        this.enqueue(task);
      }
    }
  }

  /** The queue overflowed onto this task (a drop policy): dead-lettered and failed. */
  #drop(task: Task): void {
    const engine = this.#engine;
    engine.counts.dropped++;
    engine.ev.taskDropped(task, this.queue.size);
    const err = new TaskDroppedError(task.name, engine.ev.corrOf(task), this.#options.capacity);
    engine.dlq.record(task, err, 'dropped');
    engine.settle(task, err, undefined, Outcome.Failed);
  }

  /**
   * `overflow: 'caller-runs'` (kind 'async' only): start the task now, past
   * the concurrency limit, on the least-loaded ready in-process worker, so it
   * keeps the pool's timeouts, cancellation and stats.
   */
  #callerRuns(task: Task): void {
    const engine = this.#engine;
    // Paused, or no start token: it may not start now, and the queue is full.
    if (!engine.controls.open && !engine.controls.mayStart(task)) {
      engine.settle(task, this.#full(), undefined, Outcome.Rejected);
      return;
    }
    let best: WorkerSlot | undefined;
    for (const s of engine.workers.list) {
      // Past its pipeline depth, but its in-flight ring must have a free place for one more.
      if (s.state !== SlotState.Ready || !s.ringHasRoom) continue;
      if (best === undefined || s.load < best.load) best = s;
    }
    if (best !== undefined) engine.assign(task, best);
    else engine.settle(task, this.#full(), undefined, Outcome.Rejected);
  }

  /** `overflow: 'wait'`: the caller is held until there is room, for at most its queue timeout. */
  #hold(task: Task): void {
    const engine = this.#engine;
    if (this.waiting.size >= this.#options.maxWaiting) {
      // Callers that never await would otherwise grow memory without bound.
      engine.settle(task, this.#full(this.waiting.size), undefined, Outcome.Rejected);
      return;
    }
    this.#countBurst();
    task.state = TaskState.Waiting;
    this.waiting.push(task);
    if (task.queueTimeoutMs !== Infinity) {
      task.timer = new TaskTimer(task, engine.cancellation.onTimer);
      engine.timers.schedule(task.timer, engine.clock.now() + task.queueTimeoutMs);
    }
    engine.life.holdOpen();
  }
}
