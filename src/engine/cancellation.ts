/**
 * Cancellation and the task's own clocks: the caller's `AbortSignal` (one
 * listener per signal, however many tasks share it: AbortWatch), the
 * deadline (from submission to settlement), and the one timer each task arms
 * for whatever it waits on now: its queue timeout while held by `overflow:
 * 'wait'`, its running-time limit while dispatched (time-limits.ts decides),
 * or its retry backoff (retries.ts). Either way the caller hears at once; a
 * task already on a worker is asked to stop through TimeLimits.
 */

import { DeadlineExceededError, QueueTimeoutError, TaskAbortedError } from '../api/errors.js';
import { AbortWatch } from '../time/abort-watch.js';
import { AbortKind } from '../wire/protocol.js';
import type { Scheduler } from './scheduler.js';
import { Outcome, TaskState, TaskTimer, type Task } from './task.js';

export class Cancellation {
  /** The task's timer fired: what it means depends on where the task is now. */
  readonly onTimer = (task: Task): void => this.#onTimer(task);
  readonly #onDeadline = (task: Task): void => this.#deadline(task);
  readonly #watch = new AbortWatch<Task>((task) => this.#abort(task));
  readonly #engine: Scheduler;

  constructor(engine: Scheduler) {
    this.#engine = engine;
  }

  /** Cancels the task when `signal` aborts. */
  watch(task: Task, signal: AbortSignal): void {
    task.signal = signal;
    this.#watch.add(signal, task);
  }

  /** The task fails with DeadlineExceededError `deadlineMs` after `now`, wherever it is then. */
  armDeadline(task: Task, now: number): void {
    task.deadline = new TaskTimer(task, this.#onDeadline);
    this.#engine.timers.schedule(task.deadline, now + task.deadlineMs);
  }

  /** The task settled: its listener and timers go. */
  release(task: Task): void {
    const timers = this.#engine.timers;
    if (task.signal !== undefined) {
      this.#watch.delete(task.signal, task);
      task.signal = undefined;
    }
    if (task.timer !== undefined) timers.cancel(task.timer);
    if (task.deadline !== undefined) timers.cancel(task.deadline);
  }

  #abort(task: Task): void {
    if (task.state === TaskState.Settled) return;
    this.#cancel(task, new TaskAbortedError(task.name, task.signal?.reason), AbortKind.Cancelled);
  }

  #deadline(task: Task): void {
    if (task.state === TaskState.Settled) return;
    const err = new DeadlineExceededError(task.name, task.deadlineMs, task.state !== TaskState.Dispatched);
    this.#engine.dlq.record(task, err, 'deadline');
    this.#cancel(task, err, AbortKind.TimedOut);
  }

  /** The caller hears now; a running task is asked to stop (TimeLimits); its place frees up for queued work. */
  #cancel(task: Task, err: Error, kind: AbortKind): void {
    const engine = this.#engine;
    const { state, slot, seq } = task;
    engine.settle(task, err, undefined, Outcome.Failed);
    if (state === TaskState.Dispatched) engine.limits.stop(slot, seq, task, kind);
    // Its place (in the queue, or in a starting worker's outbox) is free: queued work and waiting callers move up.
    if (state !== TaskState.Dispatched || seq === 0) engine.pump();
  }

  #onTimer(task: Task): void {
    const engine = this.#engine;
    switch (task.state) {
      case TaskState.Waiting:
        engine.backlog.waiting.delete(task);
        engine.settle(task, new QueueTimeoutError(task.queueTimeoutMs), undefined, Outcome.Rejected);
        return;
      case TaskState.Dispatched:
        engine.limits.check(task);
        return;
      case TaskState.Backoff:
        engine.retries.due(task);
        return;
      default:
        return;
    }
  }
}
