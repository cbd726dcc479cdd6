/**
 * The engine's side of the dead-letter queue: every task that finally
 * fails, is dropped, misses its deadline or meets an open breaker becomes an
 * entry in the pool's sink (src/dead-letter/sinks.ts), counted and
 * published. A sink that fails (a full disk, a callback that throws) never
 * takes the settlement path, or the task's own outcome, with it: the entry
 * is kept in memory and the failure is published, logged and counted.
 */

import { cloneInput, describeError, type DeadLetter, type DeadLetterSink } from '../dead-letter/sinks.js';
import type { Clock } from '../time/clock.js';
import { bufferPaths, reviveBuffers } from '../wire/values.js';
import type { PoolEvents } from './events.js';
import type { Task } from './task.js';

export class DeadLetters {
  readonly #sink: DeadLetterSink | undefined;
  readonly #clock: Clock;
  readonly #ev: PoolEvents;
  /** Entries written. */
  written = 0;
  /** Entries the sink failed to record (kept in memory instead). */
  failures = 0;

  constructor(sink: DeadLetterSink | undefined, clock: Clock, ev: PoolEvents) {
    this.#sink = sink;
    this.#clock = clock;
    this.#ev = ev;
    if (sink !== undefined) sink.onError = (err, entry) => this.#failed(err, entry);
  }

  /** Records a task's final failure. Call before the task settles: its input is still there. */
  record(task: Task, err: unknown, reason: DeadLetter['reason']): void {
    const sink = this.#sink;
    if (sink === undefined) return;
    const { input: copy, cloneable } = cloneInput(task.input);
    // structuredClone made any Buffer a Uint8Array: rebuild them as the workers' boundary does, so a redrive sends what the task was given.
    const paths = cloneable ? bufferPaths(task.input) : null;
    const input = paths === null ? copy : reviveBuffers(copy, paths);
    const now = Date.now();
    const entry: DeadLetter = {
      taskId: task.id,
      taskName: task.name,
      input,
      inputCloneable: cloneable,
      reason,
      error: describeError(err),
      attempts: task.attempt,
      correlationId: this.#ev.corrOf(task),
      submittedAt: now - (this.#clock.now() - task.submittedAt),
      finishedAt: now,
    };
    try {
      sink.write(entry);
    } catch (sinkErr) {
      // The built-in sinks never throw; whatever does must not take the settlement path with it.
      this.#failed(sinkErr, entry);
    }
    this.written++;
    this.#ev.taskDeadLettered(task, reason, err);
  }

  #failed(err: unknown, entry: DeadLetter): void {
    this.failures++;
    this.#ev.deadLetterError(entry, err);
  }

  /** The entries held by the sink. */
  list(): DeadLetter[] {
    return this.#sink?.list() ?? [];
  }

  /** Removes and returns the entries `filter` accepts whose input can be sent again (for a redrive). */
  take(filter: (entry: DeadLetter) => boolean): DeadLetter[] {
    return this.#sink?.take((e) => e.inputCloneable && filter(e)) ?? [];
  }

  close(): void {
    this.#sink?.close();
  }
}
