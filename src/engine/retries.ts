/**
 * Retries and the final failure. A task that failed (threw, timed out, its
 * worker crashed, its output could not be cloned) runs again after a
 * backoff if its retry policy says so (the policy is pure: src/supervision/
 * retry.ts); otherwise it settles as failed and is recorded in the
 * dead-letter queue. While it waits out its backoff it holds no worker and
 * no queue place; it re-enters even a full queue (it was accepted).
 */

import { retryDelay, shouldRetry } from '../supervision/retry.js';
import type { Scheduler } from './scheduler.js';
import { Outcome, TaskState, TaskTimer, type Task } from './task.js';

export class Retries {
  /** Tasks waiting out a retry backoff. */
  readonly #backoff = new Set<Task>();
  readonly #engine: Scheduler;

  constructor(engine: Scheduler) {
    this.#engine = engine;
  }

  get size(): number {
    return this.#backoff.size;
  }

  /** The task failed with `err`: retried after a backoff, or settled as failed and dead-lettered. */
  failed(task: Task, err: unknown): void {
    const engine = this.#engine;
    const policy = task.retry;
    const stopped = engine.state === 'closed' || engine.state === 'failed';
    if (policy !== undefined && task.transfer === undefined && !stopped && shouldRetry(policy, err, task.attempt)) {
      engine.counts.retried++;
      (task.errors ??= []).push(err);
      const delayMs = retryDelay(policy, task.attempt);
      engine.ev.taskRetried(task, delayMs, err);
      // This attempt's outcome counts against its worker (quarantine), not yet against the task (breakers).
      if (engine.supervised.judging) engine.supervised.judge(task, true, err, false);
      if (task.state === TaskState.Dispatched) engine.counts.running--;
      task.state = TaskState.Backoff;
      task.slot = undefined;
      task.seq = 0;
      this.#backoff.add(task);
      task.timer ??= new TaskTimer(task, engine.cancellation.onTimer);
      engine.timers.schedule(task.timer, engine.clock.now() + delayMs);
      return;
    }
    if (policy !== undefined && err !== null && typeof err === 'object') {
      // The final error says how many tries were made and what the earlier ones hit.
      Object.defineProperty(err, 'attempts', { value: task.attempt, enumerable: true, configurable: true, writable: true });
      Object.defineProperty(err, 'previousErrors', { value: task.errors ?? [], enumerable: false, configurable: true, writable: true });
    }
    engine.dlq.record(task, err, 'failed');
    engine.settle(task, err, undefined, Outcome.Failed);
  }

  /** Its backoff is over: onto a free worker, or back into the queue. */
  due(task: Task): void {
    const engine = this.#engine;
    this.#backoff.delete(task);
    task.readyAt = engine.clock.now();
    if (engine.placeNow(task)) return;
    engine.backlog.enqueue(task);
    engine.life.replenish();
    engine.pump();
  }

  /** The task settled while it waited (aborted, deadline, the pool closed). */
  forget(task: Task): void {
    this.#backoff.delete(task);
  }

  /** Every task waiting out a backoff (the pool failed or is closed); they are settled by the caller. */
  drain(): Task[] {
    return [...this.#backoff];
  }
}
