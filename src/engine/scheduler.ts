/**
 * The engine's hot path: submit → assign → flush → results → settle. The
 * public `Pool` (pool.ts) is a thin facade over it; each other
 * responsibility is a part in its own file that owns its state
 * (docs/ARCHITECTURE.md, "The engine", has the table of parts).
 *
 * Invariants (each relied on by every part):
 * - A task settles exactly once, through `settle`, which is the only place
 *   that calls `resolve`/`reject`, removes abort listeners and cancels timers.
 * - A task is in exactly one place: the waiting list, the queue, a worker's
 *   outbox, a worker's in-flight ring, the backoff set, or nowhere (settled).
 *   An "orphan" is a settled task (aborted, timed out) whose worker may still
 *   be running it; it keeps its in-flight slot until the worker answers or is
 *   killed, so the pool never runs more than it admits to.
 * - Workers are replaced on exit, never before, so there are never more than
 *   `max` alive (a recycle's replacement, one at a time, is the `+ 1`).
 */

import { randomBytes } from 'node:crypto';
import { channels } from '../observability/diagnostics.js';
import { attachLogger } from '../observability/logger.js';
import type { PoolDiagnostics } from '../observability/worker-diagnostics.js';
import type { Clock } from '../time/clock.js';
import { decodeError, type EncodedError } from '../wire/error-codec.js';
import { PoolClosedError, QueueFullError, SerializationError, TaskAbortedError, UnknownTaskError } from '../api/errors.js';
import { epochNow, Status } from '../wire/protocol.js';
import type { DeadLetter } from '../dead-letter/sinks.js';
import { tagCorrelation } from '../observability/failure.js';
import { sampled, toMicros } from '../observability/latency.js';
import type { RunOptions } from '../api/options.js';
import { resolveRetry } from '../supervision/retry.js';
import { TimerHeap } from '../time/timer-heap.js';
import { checkRunOptions, type ResolvedPoolOptions } from '../config/validate.js';
import type { SpawnWorker, WorkerHandle } from '../worker/handle.js';
import type { PoolState, PoolStats } from '../api/stats.js';
import { spawnerFor } from '../worker/spawn.js';
import { WorkerSet } from './worker-set.js';
import { Outcome, Task, TaskExtra, TaskState, TaskTimer } from './task.js';
import { PoolEvents } from './events.js';
import { DeadLetters } from './dead-letters.js';
import { TimeLimits } from './time-limits.js';
import { askBack } from './steal.js';
import { admitWaiting, tunePipeline } from './pipeline.js';
import { Backlog } from './backlog.js';
import { Counters, poolDiagnostics, poolStats } from './stats.js';
import { Dispatch } from './dispatch.js';
import { Cancellation } from './cancellation.js';
import { closedError, Controls } from './controls.js';
import { deliverProgress } from './progress.js';
import { workerExited } from './fates.js';
import { Sampling } from './sampling.js';
import { Retries } from './retries.js';
import { Lifecycle } from './lifecycle.js';
import { Supervised } from './supervised.js';
import { Shutdown } from './shutdown.js';
import { INFLIGHT_MASK, SlotState, WorkerSlot } from './worker-slot.js';

export type { PoolState, PoolStats, SupervisionStats, WorkerStat } from '../api/stats.js';
/** Events the engine reports to the facade. */
export type EngineEvent = 'saturated' | 'unsaturated' | 'latency-alarm' | 'latency-normal' | 'worker-leaking' | 'pool-failed' | 'pool-recovered' | 'idle' | 'drain';
export type EmitFn = (event: EngineEvent, payload: unknown) => void;

export class Scheduler {
  readonly options: ResolvedPoolOptions;
  readonly clock: Clock;
  readonly timers: TimerHeap;
  readonly emit: EmitFn;
  readonly poolId: string;
  readonly corrPrefix: string;
  /** The parts (see the file comment). */
  readonly counts = new Counters();
  readonly ev: PoolEvents;
  readonly dlq: DeadLetters;
  readonly backlog: Backlog;
  readonly workers: WorkerSet;
  readonly limits: TimeLimits;
  readonly retries: Retries;
  readonly sampling: Sampling;
  readonly supervised: Supervised;
  readonly life: Lifecycle;
  readonly dispatch: Dispatch;
  readonly cancellation: Cancellation;
  readonly controls: Controls;
  readonly shutdown: Shutdown;
  state: PoolState = 'starting';
  /** Why the pool failed (state 'failed'). */
  failure: Error | undefined;
  /** The module's task names, once a worker has loaded it (a set, and the list in export order). */
  knownNames: Set<string> | undefined;
  taskList: string[] = [];
  #detachLogger: (() => void) | undefined;
  #nextTaskId = 1;
  /** What a task without per-call options shares (see TaskExtra). */
  readonly #taskDefaults: TaskExtra;
  /** Kind 'async': workers in this process, which can start a task inside submit (#startNow). */
  readonly #inline: boolean;

  constructor(options: ResolvedPoolOptions, spawnWorker?: SpawnWorker, emit: EmitFn = () => undefined) {
    this.options = options;
    this.emit = emit;
    this.clock = options.clock;
    this.timers = new TimerHeap(options.clock);
    this.#inline = options.kind === 'async';
    this.#taskDefaults = new TaskExtra(true, options.timeoutMs, Infinity, options.queueTimeoutMs, options.retry.attempts > 1 ? options.retry : undefined);
    this.corrPrefix = `${options.name}-${randomBytes(3).toString('hex')}-`;
    this.poolId = this.corrPrefix.slice(0, -1);
    this.ev = new PoolEvents(options.name, this.corrPrefix, options.kind);
    this.dlq = new DeadLetters(options.deadLetter, options.clock, this.ev);
    this.backlog = new Backlog(this, options);
    this.cancellation = new Cancellation(this);
    this.controls = new Controls(this);
    this.limits = new TimeLimits(
      {
        alive: (slot) => this.workers.byId.get(slot.handle.id) === slot,
        timedOut: (task, slot, seq, err) => {
          this.sampling.little.ran(this.clock.now() - (slot.sentAt[seq & INFLIGHT_MASK] as number));
          this.retries.failed(task, err);
        },
        kill: (slot, why) => this.life.kill(slot, why),
      },
      this.timers,
      options.clock,
      options.abortGraceMs,
    );
    if (options.logger !== undefined) this.#detachLogger = attachLogger(this.poolId, options.logger);
    this.retries = new Retries(this);
    this.sampling = new Sampling(this);
    this.supervised = new Supervised(this);
    this.shutdown = new Shutdown(this);
    this.dispatch = new Dispatch(this);
    // size.min 0: a lazy pool, no worker until the first task (or start()).
    const initial = options.min;
    this.workers = new WorkerSet(options.pipeline, options.scaler === undefined ? options.max : Math.min(initial, options.max));
    this.life = new Lifecycle(this, spawnWorker ?? spawnerFor(options, this.corrPrefix), {
      ready: (h, names, flags) => this.life.onReady(h, names, flags),
      initError: (h, err, phase) => this.life.onInitError(h, err, phase),
      results: (h, msg) => this.#onResults(h, msg),
      started: (h, first, last) => {
        // Every process batch sends a start marker: nothing to look up unless someone listens.
        if (!channels.taskStarted.hasSubscribers) return;
        const slot = this.workers.byId.get(h.id);
        if (slot !== undefined) this.ev.tasksStarted(slot, first, last);
      },
      exit: (h, info) => workerExited(this, h, info),
      progress: (h, msg) => deliverProgress(this, h, msg),
      synced: (_h, id) => this.controls.synced(id),
      ioBound: (h, waiting) => {
        const slot = this.workers.byId.get(h.id);
        // A fixed depth is the user's choice.
        if (slot === undefined || this.options.pipeline !== 'auto') return;
        admitWaiting(slot, waiting);
        this.pump();
      },
      health: (h, ok) => {
        const slot = this.workers.byId.get(h.id);
        if (!ok && slot !== undefined) this.supervised.recycle(slot, 'unhealthy');
      },
    });
    for (let i = 0; i < initial; i++) this.life.spawn();
    this.sampling.start();
  }

  start(): Promise<void> {
    // A lazy pool asked to start loads the module now.
    if (this.workers.list.length === 0 && this.accepting && !this.life.everReady) this.life.spawn();
    return this.life.started;
  }

  /** Task names the module exports, once a worker has loaded it. */
  get taskNames(): readonly string[] {
    return this.taskList;
  }

  /** Whether the pool takes new work now. */
  get accepting(): boolean {
    return this.state === 'running' || this.state === 'starting';
  }

  submit(name: string, input: unknown, opts: RunOptions | undefined): Promise<unknown> {
    this.counts.submitted++;
    if (!this.accepting) return this.#refuse(this.state === 'failed' ? this.failure : new PoolClosedError(), name, opts);
    let timeoutMs = this.options.timeoutMs;
    let deadlineMs = Infinity;
    let queueTimeoutMs = this.options.queueTimeoutMs;
    let signal: AbortSignal | undefined;
    let correlation: string | null = null;
    let retry = this.options.retry;
    if (opts !== undefined) {
      try {
        checkRunOptions(opts);
        if (opts.retry !== undefined) retry = resolveRetry('retry', opts.retry, this.options.retry);
      } catch (err) {
        return this.#refuse(err, name, opts);
      }
      if (opts.timeoutMs !== undefined) timeoutMs = opts.timeoutMs;
      if (opts.deadlineMs !== undefined) deadlineMs = opts.deadlineMs;
      if (opts.queueTimeoutMs !== undefined) queueTimeoutMs = opts.queueTimeoutMs;
      if (opts.correlationId !== undefined) correlation = opts.correlationId;
      signal = opts.signal;
      if (signal?.aborted) {
        this.counts.failed++;
        return Promise.reject(new TaskAbortedError(name, signal.reason));
      }
    }
    if (typeof name !== 'string') return this.#refuse(new UnknownTaskError(String(name), this.taskList), String(name), opts);
    if (this.knownNames !== undefined && !this.knownNames.has(name)) return this.#refuse(new UnknownTaskError(name, this.taskList), name, opts);

    const now = this.clock.now();
    const breakers = this.supervised.breakers;
    const open = breakers?.check(name, now);
    if (open !== undefined && breakers?.policy.onOpen === 'reject') return this.#refuse(open, name, opts);
    const task = new Task(this.#nextTaskId++, name, input, correlation, now, this.#taskDefaults);
    if (opts !== undefined) {
      // The setters copy the defaults only for a value that differs.
      task.timeoutMs = timeoutMs;
      task.deadlineMs = deadlineMs;
      task.queueTimeoutMs = queueTimeoutMs;
    }
    this.sampling.little.arrived++;
    const promise = new Promise<unknown>((resolve, reject) => {
      task.resolve = resolve;
      task.reject = reject;
    });
    task.retry = retry.attempts > 1 ? retry : undefined;
    if (open !== undefined) {
      // onOpen 'dead-letter': accepted, failed at once, recorded for redrive.
      this.dlq.record(task, open, 'failed');
      this.settle(task, open, undefined, Outcome.Failed);
      return promise;
    }
    if (opts !== undefined) this.#applyOptions(task, opts, signal, now);

    const backlog = this.backlog;
    this.controls.busy = true;
    // A tracing subscriber may attach the submitter's trace context.
    if (channels.taskQueued.hasSubscribers) task.meta = this.ev.taskQueued(task, backlog.queue.size);
    if (backlog.queue.size === 0 && this.controls.open) {
      const slot = this.workers.pick();
      if (slot !== undefined) {
        if (this.#inline && slot.load === 0 && slot.state === SlotState.Ready) this.dispatch.startNow(task, slot);
        else this.assign(task, slot);
        return promise;
      }
    }
    if (backlog.queue.size < this.options.capacity) {
      backlog.enqueue(task);
      this.life.grow();
      this.life.holdOpen();
    } else {
      backlog.overflow(task);
    }
    return promise;
  }

  /** The per-call options a task keeps beyond its time limits. */
  #applyOptions(task: Task, opts: RunOptions, signal: AbortSignal | undefined, now: number): void {
    if (opts.stallMs !== undefined) task.stallMs = opts.stallMs;
    if (opts.onProgress !== undefined) task.onProgress = opts.onProgress;
    if (opts.blocking === true) task.stallMs = Infinity;
    if (opts.priority !== undefined && opts.priority !== 0) {
      task.priority = opts.priority;
      this.backlog.usePriorities();
    }
    if (opts.transfer !== undefined && opts.transfer.length > 0) task.transfer = opts.transfer;
    if (opts.traceContext !== undefined) task.meta = opts.traceContext;
    if (signal !== undefined) this.cancellation.watch(task, signal);
    if (task.deadlineMs !== Infinity) this.cancellation.armDeadline(task, now);
  }

  /**
   * The synchronous door: accepted (a worker or the queue has room) or
   * refused, never waiting, dropping or throwing. A refused try is not
   * counted as a submission.
   */
  trySubmit(name: string, input: unknown, opts: RunOptions | undefined): { accepted: true; result: Promise<unknown> } | { accepted: false; reason: 'queue-full' | 'closed' | 'failed'; error: Error } {
    if (this.state === 'failed') return { accepted: false, reason: 'failed', error: this.failure as Error };
    if (!this.accepting) return { accepted: false, reason: 'closed', error: new PoolClosedError() };
    const queue = this.backlog.queue;
    if (queue.size >= this.options.capacity || this.backlog.waiting.size > 0) {
      if (queue.size > 0 || !this.workers.anyRoom()) {
        return { accepted: false, reason: 'queue-full', error: new QueueFullError(this.options.capacity, this.counts.running) };
      }
    }
    return { accepted: true, result: this.submit(name, input, opts) };
  }

  /** Resolves when the queue has room for one more task. */
  ready(): Promise<void> {
    if (this.state === 'failed') return Promise.reject(this.failure ?? new PoolClosedError());
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(new PoolClosedError());
    return this.backlog.ready();
  }

  stats(): PoolStats {
    return poolStats(this);
  }

  diagnostics(): Promise<PoolDiagnostics> {
    return poolDiagnostics(this);
  }

  close(timeoutMs: number, cancelQueued = false): Promise<void> {
    const closed = this.shutdown.close(timeoutMs);
    if (cancelQueued) void this.controls.clear(closedError());
    return closed;
  }

  terminate(): Promise<void> {
    return this.shutdown.terminate();
  }

  resize(n: number): void {
    this.life.resize(n);
  }

  /** The dead-letter entries held by the sink. */
  deadLetters(): DeadLetter[] {
    return this.dlq.list();
  }

  /** Removes the entries `filter` accepts from the dead-letter queue and runs them again. */
  redrive(filter: (entry: DeadLetter) => boolean): Promise<unknown>[] {
    return this.dlq.take(filter).map((e) => this.submit(e.taskName, e.input, { correlationId: e.correlationId }));
  }

  // ---- placement -------------------------------------------------------------

  assign(task: Task, slot: WorkerSlot): void {
    this.dispatched(task, slot);
    if (slot.outbox.length === 0) this.dispatch.markDirty(slot);
    slot.outbox.push(task);
  }

  /** Onto a worker with room now, if the queue is empty and one has room (else the caller queues it). */
  placeNow(task: Task): boolean {
    const slot = this.backlog.queue.size === 0 ? this.workers.pick() : undefined;
    if (slot === undefined) return false;
    if (!this.controls.open && !this.#mayStart(task, slot)) return false;
    this.assign(task, slot);
    return true;
  }

  /** Paused, or no start token yet: the picked worker is handed back. */
  #mayStart(task: Task, slot: WorkerSlot): boolean {
    if (this.controls.mayStart(task)) return true;
    this.workers.freedIfIdle(slot);
    return false;
  }

  /** The task now belongs to this worker (in its outbox, or started at once): counted as running, its time limit armed. */
  dispatched(task: Task, slot: WorkerSlot): void {
    this.life.holdOpen();
    task.state = TaskState.Dispatched;
    task.slot = slot;
    this.counts.running++;
    if (slot.idleTimer !== undefined) this.timers.cancel(slot.idleTimer);
    if (task.timeoutMs !== Infinity) {
      task.timer ??= new TaskTimer(task, this.cancellation.onTimer);
      this.timers.schedule(task.timer, this.clock.now() + task.timeoutMs);
    }
  }

  /** Tasks assigned to a worker but never sent go back to the head of the queue, in order; one settled meanwhile stays settled. */
  requeueOutbox(slot: WorkerSlot): void {
    const batch = slot.outbox;
    if (batch.length === 0) return;
    slot.outbox = [];
    for (let i = batch.length - 1; i >= 0; i--) {
      const t = batch[i] as Task;
      if (t.state === TaskState.Dispatched && t.slot === slot) this.requeue(t);
    }
  }

  /** A task that never started goes back to the head of the queue. */
  requeue(task: Task): void {
    this.counts.running--;
    task.slot = undefined;
    // Sent but never started: that send was not an attempt (retries count runs).
    if (task.seq !== 0) task.attempt--;
    task.seq = 0;
    if (task.timer !== undefined) this.timers.cancel(task.timer);
    this.backlog.unshift(task);
  }

  /** Moves queued work onto workers with room; grows a dynamic pool under pressure. */
  pump(): void {
    const queue = this.backlog.queue;
    const controls = this.controls;
    while (queue.size > 0) {
      let slot = this.workers.pick();
      let ahead = false;
      if (slot === undefined) {
        slot = this.workers.prefetchSlot(queue);
        if (slot === undefined) break;
        ahead = true;
      }
      // Paused, or no start token yet (the rate limit pumps again when one comes back).
      if (!controls.open && !this.#mayStart(queue.peek() as Task, slot)) break;
      if (ahead) slot.ahead = true;
      this.assign(queue.shift() as Task, slot);
    }
    this.backlog.admit();
    this.life.grow();
    if (controls.armed) controls.check();
  }

  // ---- results -----------------------------------------------------------------

  #onResults(handle: WorkerHandle, msg: unknown[]): void {
    const slot = this.workers.byId.get(handle.id);
    if (slot === undefined) return;
    const inflight = slot.inflight;
    const now = this.clock.now();
    const wall = epochNow();
    const breakers = this.supervised.breakers;
    if (breakers !== undefined) breakers.now = now;
    let n = 0;
    let revoked = 0;
    const stealing = slot.revoking.size !== 0;
    for (let i = 1; i < msg.length; i += 3) {
      const seq = msg[i] as number;
      const idx = seq & INFLIGHT_MASK;
      const task = inflight[idx];
      if (task === undefined || slot.seqOf(idx) !== seq) continue;
      inflight[idx] = undefined;
      // Asked back (work stealing): answered either way now.
      if (stealing) slot.revoking.delete(seq);
      const current = task.state === TaskState.Dispatched && task.slot === slot && task.seq === seq;
      if (msg[i + 1] === Status.Revoked) {
        // Taken back before it started (stolen, or asked back by pause or clear): its place in this worker's maxTasks comes back.
        revoked++;
        slot.left++;
        if (!current) this.limits.answered(slot, seq);
        else if (!this.controls.revoked(task)) {
          this.counts.stolen++;
          this.requeue(task);
        }
        continue;
      }
      n++;
      if (!current) {
        // An orphan: its caller already has its outcome; its grace timer can stop.
        this.limits.answered(slot, seq);
        continue;
      }
      let runMs = 0;
      if (sampled(task.id) || channels.taskCompleted.hasSubscribers) {
        const startedAt = handle.startedAt(seq);
        if (startedAt !== undefined) {
          runMs = wall - startedAt;
          this.counts.runHist.record(toMicros(runMs));
        }
        this.sampling.latencyAlarm.record(toMicros(now - task.submittedAt));
      }
      // Little's W: dispatch to result, one clock reading per batch.
      this.sampling.little.ran(now - (slot.sentAt[idx] as number));
      const status = msg[i + 1] as Status;
      if (status === Status.Ok) this.settle(task, undefined, msg[i + 2], Outcome.Completed, runMs);
      else if (status === Status.Error) {
        slot.failures++;
        this.retries.failed(task, decodeError(msg[i + 2] as EncodedError, task.name));
      } else if (status === Status.Thrown) {
        slot.failures++;
        this.retries.failed(task, msg[i + 2]);
      } else this.retries.failed(task, new SerializationError(task.name, 'output', decodeError(msg[i + 2] as EncodedError, task.name)));
    }
    slot.inflightCount -= n + revoked;
    slot.completed += n;
    this.#afterResults(slot, n);
  }

  /** A result batch freed room on this worker: it may be due for recycling or retirement; queued work moves up. */
  #afterResults(slot: WorkerSlot, n: number): void {
    // Sent all it may ever be sent: its replacement starts while it finishes them.
    if (slot.left <= 0) this.supervised.recycle(slot, 'max-tasks');
    if (slot.load === 0 && this.workers.draining.delete(slot)) this.life.retireNow(slot);
    this.workers.freedIfIdle(slot);
    const auto = this.options.pipeline === 'auto';
    if (auto && n > 0) tunePipeline(slot, n);
    this.pump();
    if (this.state === 'closing') {
      this.shutdown.checkDrained();
      return;
    }
    if (slot.load === 0) {
      // Only the auto pipeline sends work ahead of knowing its cost (and measures serviceMs); a fixed depth is the user's choice.
      if (auto && this.backlog.queue.size === 0 && this.workers.list.length > 1) askBack(slot, this.workers.list);
      this.life.scheduleIdle(slot);
    }
    this.life.unrefIfIdle();
  }



  // ---- settlement ----------------------------------------------------------------

  #refuse(err: unknown, name: string, opts: RunOptions | undefined): Promise<never> {
    this.counts.rejected++;
    const correlationId = typeof opts?.correlationId === 'string' ? opts.correlationId : undefined;
    if (correlationId !== undefined) tagCorrelation(err, correlationId);
    this.ev.taskRejected(undefined, name, correlationId, err);
    return Promise.reject(err);
  }

  /** The one place a task settles. */
  settle(task: Task, err: unknown, value: unknown, outcome: Outcome, runMs = 0): void {
    const state = task.state;
    if (state === TaskState.Settled) return;
    if (state === TaskState.Dispatched) {
      this.counts.running--;
      // Assigned, not sent (cancelled while its worker starts, say): its place in that worker's outbox is free again.
      if (task.seq === 0 && task.slot !== undefined) {
        const outbox = task.slot.outbox;
        const i = outbox.indexOf(task);
        if (i !== -1) outbox.splice(i, 1);
      }
    } else if (state === TaskState.Backoff) this.retries.forget(task);
    else this.backlog.remove(task);
    task.state = TaskState.Settled;
    this.cancellation.release(task);
    task.input = undefined;
    if (task.transfer !== undefined) task.transfer = undefined;
    const judging = this.supervised.judging;
    if (outcome === Outcome.Completed) {
      this.counts.completed++;
      if (judging) this.supervised.judge(task, false, undefined, true);
      this.ev.taskCompleted(task, runMs);
      task.resolve(value);
    } else {
      const correlationId = this.ev.corrOf(task);
      tagCorrelation(err, correlationId);
      if (outcome === Outcome.Failed) {
        this.counts.failed++;
        if (judging) this.supervised.judge(task, true, err, true);
        this.ev.taskFailed(task, correlationId, err);
      } else {
        this.counts.rejected++;
        this.ev.taskRejected(task.id, task.name, correlationId, err);
      }
      task.reject(err);
    }
    // A task settled by cancellation, a deadline or a queue timeout may be the last thing a close waits for.
    if (this.state === 'closing') this.shutdown.checkDrained();
    if (this.controls.armed) this.controls.check();
  }

  /** Everything is over for this engine: timers, the sink and the logger let go. */
  dispose(): void {
    this.timers.clear();
    this.dlq.close();
    this.#detachLogger?.();
    this.#detachLogger = undefined;
  }
}
