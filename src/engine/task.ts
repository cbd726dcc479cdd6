/**
 * A task as the scheduler tracks it, from submission to settlement.
 * A class rather than object literals so every task has one hidden shape.
 */

import type { Transferable } from '../api/types.js';
import type { TraceCarrier } from '../observability/diagnostics.js';
import type { RetryPolicy } from '../supervision/retry.js';
import type { TimerEntry } from '../time/timer-heap.js';
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

/** How a task settled: which counter it goes to and which event is published. */
export const enum Outcome {
  Completed = 0,
  Failed = 1,
  Rejected = 2,
}

/**
 * What most tasks never use: per-call overrides, cancellation, retries,
 * timers, priorities, trace context. Every task starts out pointing at its
 * pool's shared defaults (one `TaskExtra` per pool, marked `shared`) and
 * gets its own copy only on the first write, so a plain queued task costs a
 * small object instead of one with thirty fields (a million queued tasks
 * made that the pool's memory and most of its GC time).
 */
export class TaskExtra {
  /** The pool's defaults, never written through a task: see Task.own. */
  shared: boolean;
  /** RunOptions.correlationId; null: derived from the task id. */
  correlation: string | null = null;
  transfer: readonly Transferable[] | undefined = undefined;
  timeoutMs: number;
  deadlineMs: number;
  queueTimeoutMs: number;
  signal: AbortSignal | undefined = undefined;
  /** Higher runs first. */
  priority = 0;
  /** Queue ordering key (priority, aged by submission time) and queue generation: see PriorityQueue. */
  qkey = 0;
  qgen = 0;
  /** Errors of earlier attempts. */
  errors: unknown[] | undefined = undefined;
  /** W3C trace context a tracing subscriber attached at submit; sent with the task. */
  meta: TraceCarrier | null = null;
  /** When it last became ready to run after a retry backoff; undefined: its submission. */
  readyAt: number | undefined = undefined;
  /** Retry policy, when retries are on for this task. */
  retry: RetryPolicy | undefined;
  /** Timer for running time, queue time or a retry backoff, created only when needed (abort grace is per worker and seq: WorkerSlot.graces). */
  timer: TimerEntry | undefined = undefined;
  /** Timer for the deadline counted from submission. */
  deadline: TimerEntry | undefined = undefined;
  /** How long it may block its worker's event loop (RunOptions.stallMs / blocking), in ms; 0: not declared. */
  stallMs = 0;
  /** The caller's progress callback (RunOptions.onProgress). */
  onProgress: ((value: unknown) => void) | undefined = undefined;

  constructor(shared: boolean, timeoutMs: number, deadlineMs: number, queueTimeoutMs: number, retry: RetryPolicy | undefined) {
    this.shared = shared;
    this.timeoutMs = timeoutMs;
    this.deadlineMs = deadlineMs;
    this.queueTimeoutMs = queueTimeoutMs;
    this.retry = retry;
  }

  /** A task's own copy of these (the pool's defaults, or another task's). */
  copy(): TaskExtra {
    const c = new TaskExtra(false, this.timeoutMs, this.deadlineMs, this.queueTimeoutMs, this.retry);
    c.correlation = this.correlation;
    c.transfer = this.transfer;
    c.signal = this.signal;
    c.priority = this.priority;
    c.qkey = this.qkey;
    c.qgen = this.qgen;
    c.errors = this.errors;
    c.meta = this.meta;
    c.readyAt = this.readyAt;
    c.timer = this.timer;
    c.deadline = this.deadline;
    c.stallMs = this.stallMs;
    c.onProgress = this.onProgress;
    return c;
  }
}

/**
 * A task as the scheduler tracks it. Only what every task needs lives on it;
 * the rest is behind accessors on `x` (see TaskExtra), so the scheduler
 * reads and writes `task.timeoutMs` etc. as before. Dispatch times live on
 * the worker slot, by sequence number (WorkerSlot.sentAt), not here: a
 * fractional number in a field is a boxed heap number per task.
 */
export class Task {
  readonly id: number;
  readonly name: string;
  input: unknown;
  readonly submittedAt: number;
  /** state (bits 0-2), queued (bit 3) and attempt (the rest) in one small integer: see the accessors. */
  #bits = TaskState.Queued;
  slot: WorkerSlot | undefined = undefined;
  /** Per-worker sequence number once sent. */
  seq = 0;
  /** The rarely used part: the pool's shared defaults until first written. */
  x: TaskExtra;
  resolve!: (value: unknown) => void;
  reject!: (err: unknown) => void;

  constructor(id: number, name: string, input: unknown, correlation: string | null, submittedAt: number, defaults: TaskExtra) {
    this.id = id;
    this.name = name;
    this.input = input;
    this.submittedAt = submittedAt;
    this.x = defaults;
    if (correlation !== null) this.own().correlation = correlation;
  }

  get state(): TaskState {
    return this.#bits & 7;
  }
  set state(v: TaskState) {
    this.#bits = (this.#bits & ~7) | v;
  }
  /** True while the task sits in a TaskQueue (a queue clears it when it lets the task go). */
  get queued(): boolean {
    return (this.#bits & 8) !== 0;
  }
  set queued(v: boolean) {
    this.#bits = v ? this.#bits | 8 : this.#bits & ~8;
  }
  /** Attempts made so far (retries). */
  get attempt(): number {
    return this.#bits >>> 4;
  }
  set attempt(v: number) {
    this.#bits = (this.#bits & 15) | (v << 4);
  }
  get correlation(): string | null {
    return this.x.correlation;
  }

  /** This task's own extra part, copied from the defaults on first write. */
  own(): TaskExtra {
    const x = this.x;
    return x.shared ? (this.x = x.copy()) : x;
  }

  get transfer(): readonly Transferable[] | undefined {
    return this.x.transfer;
  }
  set transfer(v: readonly Transferable[] | undefined) {
    if (this.x.transfer !== v) this.own().transfer = v;
  }
  get timeoutMs(): number {
    return this.x.timeoutMs;
  }
  set timeoutMs(v: number) {
    if (this.x.timeoutMs !== v) this.own().timeoutMs = v;
  }
  get deadlineMs(): number {
    return this.x.deadlineMs;
  }
  set deadlineMs(v: number) {
    if (this.x.deadlineMs !== v) this.own().deadlineMs = v;
  }
  get queueTimeoutMs(): number {
    return this.x.queueTimeoutMs;
  }
  set queueTimeoutMs(v: number) {
    if (this.x.queueTimeoutMs !== v) this.own().queueTimeoutMs = v;
  }
  get signal(): AbortSignal | undefined {
    return this.x.signal;
  }
  set signal(v: AbortSignal | undefined) {
    if (this.x.signal !== v) this.own().signal = v;
  }
  get priority(): number {
    return this.x.priority;
  }
  set priority(v: number) {
    if (this.x.priority !== v) this.own().priority = v;
  }
  get qkey(): number {
    return this.x.qkey;
  }
  set qkey(v: number) {
    if (this.x.qkey !== v) this.own().qkey = v;
  }
  get qgen(): number {
    return this.x.qgen;
  }
  set qgen(v: number) {
    if (this.x.qgen !== v) this.own().qgen = v;
  }
  get errors(): unknown[] | undefined {
    return this.x.errors;
  }
  set errors(v: unknown[] | undefined) {
    if (this.x.errors !== v) this.own().errors = v;
  }
  get meta(): TraceCarrier | null {
    return this.x.meta;
  }
  set meta(v: TraceCarrier | null) {
    if (this.x.meta !== v) this.own().meta = v;
  }
  /** When it last became ready to run (submission, or the end of a retry backoff), on the pool's clock. */
  get readyAt(): number {
    return this.x.readyAt ?? this.submittedAt;
  }
  set readyAt(v: number) {
    this.own().readyAt = v;
  }
  get retry(): RetryPolicy | undefined {
    return this.x.retry;
  }
  set retry(v: RetryPolicy | undefined) {
    if (this.x.retry !== v) this.own().retry = v;
  }
  get timer(): TimerEntry | undefined {
    return this.x.timer;
  }
  set timer(v: TimerEntry | undefined) {
    if (this.x.timer !== v) this.own().timer = v;
  }
  get deadline(): TimerEntry | undefined {
    return this.x.deadline;
  }
  set deadline(v: TimerEntry | undefined) {
    if (this.x.deadline !== v) this.own().deadline = v;
  }
  get stallMs(): number {
    return this.x.stallMs;
  }
  set stallMs(v: number) {
    if (this.x.stallMs !== v) this.own().stallMs = v;
  }
  get onProgress(): ((value: unknown) => void) | undefined {
    return this.x.onProgress;
  }
  set onProgress(v: ((value: unknown) => void) | undefined) {
    if (this.x.onProgress !== v) this.own().onProgress = v;
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
