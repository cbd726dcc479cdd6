/**
 * A task as the scheduler tracks it, from submission to settlement.
 * A class rather than object literals so every task has one hidden shape.
 */

import type { Transferable } from './types.js';
import type { TraceCarrier } from './diagnostics.js';
import type { RetryPolicy } from './retry.js';
import type { TimerEntry } from './timer-heap.js';
import type { WorkerSlot } from './worker-slot.js';

export const enum TaskState {
  /** Waiting for room in a full queue (`overflow: 'wait'`). */
  Waiting = 0,
  Queued = 1,
  /** Sent to a worker; see the worker's shared state for whether it started. */
  Dispatched = 2,
  Settled = 3,
  /** Failed, waiting out its backoff before the next attempt; holds no worker. */
  Backoff = 4,
}

export class Task {
  readonly id: number;
  readonly name: string;
  input: unknown;
  transfer: readonly Transferable[] | undefined;
  readonly correlation: string | null;
  readonly submittedAt: number;
  timeoutMs: number;
  deadlineMs: number;
  queueTimeoutMs: number;
  signal: AbortSignal | undefined;
  state: TaskState = TaskState.Queued;
  /** True while the task sits in a TaskQueue (a queue clears it when it lets the task go). */
  queued = false;
  /** Higher runs first. */
  priority = 0;
  /** Queue ordering key (priority, aged by submission time) and queue generation: see PriorityQueue. */
  qkey = 0;
  qgen = 0;
  /** Attempts made so far (retries). */
  attempt = 0;
  /** Errors of earlier attempts. */
  errors: unknown[] | undefined = undefined;
  /** W3C trace context a tracing subscriber attached at submit; sent with the task. */
  meta: TraceCarrier | null = null;
  /** When it last became ready to run (submission, or the end of a retry backoff), on the pool's clock. */
  readyAt: number;
  /** Time from readyAt to dispatch, and running time in the worker, of the last attempt (ms). */
  waitMs = 0;
  runMs = 0;
  /** Retry policy, when retries are on for this task. */
  retry: RetryPolicy | undefined = undefined;
  slot: WorkerSlot | undefined = undefined;
  /** Per-worker sequence number once sent. */
  seq = 0;
  /** When it was last given to a worker (pool clock): its running time W for Little's law. */
  dispatchedAt = 0;
  /** Timer for running time, queue time or abort grace, created only when needed. */
  timer: TimerEntry | undefined = undefined;
  /** Timer for the deadline counted from submission. */
  deadline: TimerEntry | undefined = undefined;
  /** Settled early (aborted, timed out) while the worker may still run it. */
  /** How long it may block its worker's event loop (RunOptions.stallMs / blocking), in ms; 0: not declared. */
  stallMs = 0;
  orphaned = false;
  resolve!: (value: unknown) => void;
  reject!: (err: unknown) => void;

  constructor(
    id: number,
    name: string,
    input: unknown,
    correlation: string | null,
    submittedAt: number,
    timeoutMs: number,
    deadlineMs: number,
    queueTimeoutMs: number,
  ) {
    this.id = id;
    this.name = name;
    this.input = input;
    this.transfer = undefined;
    this.correlation = correlation;
    this.submittedAt = submittedAt;
    this.readyAt = submittedAt;
    this.timeoutMs = timeoutMs;
    this.deadlineMs = deadlineMs;
    this.queueTimeoutMs = queueTimeoutMs;
    this.signal = undefined;
  }
}

/** A TimerEntry whose `fire` calls back into the scheduler with the task. */
export class TaskTimer implements TimerEntry {
  at = 0;
  index = -1;
  readonly task: Task;
  readonly onFire: (task: Task) => void;
  constructor(task: Task, onFire: (task: Task) => void) {
    this.task = task;
    this.onFire = onFire;
  }
  fire(): void {
    this.onFire(this.task);
  }
}
