/**
 * Kind 'async': a "worker" that runs task functions in this process, behind
 * the same WorkerHandle interface as threads and processes, so one scheduler
 * gives all three kinds the same queue, backpressure, timeouts, cancellation,
 * stats and close semantics. The pool gives each inline worker a pipeline
 * depth of 1, so `size` workers means at most `size` tasks running at once:
 * the worker is a semaphore slot, not a thread.
 *
 * Differences that follow from sharing the process:
 * - Nothing is copied: inputs, outputs and thrown errors are the caller's own
 *   objects (errors arrive as `Status.Thrown`, never encoded). Except with
 *   `transfer`: a task's input given a transfer list, and an output the task
 *   marked with `ctx.transfer`, are moved as a thread would move them
 *   (wire/transfer.ts): cloned, the listed buffers moved and the sender's
 *   detached, so code that transfers behaves the same on every kind.
 * - A task cannot be killed. `terminate('timeout')` aborts `ctx.signal` and
 *   keeps the slot taken until the function settles or `abortGraceMs`
 *   passes; then the worker "exits" and the stuck promise is abandoned (its
 *   eventual result is dropped).
 * - A blocking call in a task blocks the whole event loop, the pool included.
 */

import type { Clock, TimerHandle } from '../time/clock.js';
import type { Transferable } from '../api/types.js';
import { encodeError } from '../wire/error-codec.js';
import { detach, moveValues } from '../wire/transfer.js';
import { TaskFailedError } from '../api/errors.js';
import { AbortKind, corrOf, Op, START_RING, Status, TASK_STRIDE, traceOf } from '../wire/protocol.js';
import type { TaskFn } from '../runtime/collect-tasks.js';
import { microtask } from '../time/microtask.js';
import { runTask } from '../runtime/task-hooks.js';
import { selfReport, type ProcStatus, type WorkerSelfReport } from '../observability/worker-diagnostics.js';
import { abortReason, keepTransfer, TaskCtx, type TaskSink } from '../runtime/task-context.js';
import type { StopReason, WorkerEvents, WorkerHandle } from './handle.js';

export interface InlineSpawnOptions {
  id: number;
  tasks: readonly [string, TaskFn][];
  corrPrefix: string;
  abortGraceMs: number;
  clock: Clock;
}

const MASK = START_RING - 1;

export class InlineWorker implements WorkerHandle {
  readonly id: number;
  readonly #fns: TaskFn[];
  readonly #names: string[];
  readonly #events: WorkerEvents;
  readonly #prefix: string;
  readonly #graceMs: number;
  readonly #clock: Clock;
  /** Tasks numbered by arrival, like the worker runtime does. */
  #received = 0;
  #startedSeq = 0;
  readonly #startTimes = new Float64Array(START_RING);
  /** `seq & MASK` holds seq once that task's function returned, threw or settled. */
  readonly #finished = new Int32Array(START_RING);
  /**
   * Tasks whose promise has not settled yet, so an abort can reach them, by
   * `seq & MASK` (a ring, not a Map: no entry allocated per task). The
   * scheduler never has two tasks in flight on one worker at the same ring
   * place, so they cannot collide.
   */
  readonly #running: (TaskCtx | undefined)[] = new Array<TaskCtx | undefined>(START_RING).fill(undefined);
  #runningCount = 0;
  readonly #abortedEarly = new Set<number>();
  /** Tasks taken back (Op.Revoke) while still in the inbox: answered Status.Revoked when reached, never run. */
  readonly #revoked = new Set<number>();
  #inbox: unknown[][] = [];
  #inboxQueued = false;
  #stopping = false;
  #exited = false;
  #grace: TimerHandle | undefined;
  readonly #runInbox = (): void => this.#drainInbox();
  /** Each task's latest progress value, delivered once per microtask (coalesced, as threads and processes do per flush). */
  readonly #progressed = new Map<number, unknown>();
  /** What each task marked with `ctx.transfer`, by seq: moved with its own output (as a thread sends it with its result). */
  readonly #transfers = new Map<number, Transferable[]>();
  readonly #sink: TaskSink = {
    transfer: (seq, items) => keepTransfer(this.#transfers, seq, items),
    progress: (seq, value) => {
      if (this.#progressed.size === 0) microtask(() => this.#flushProgress());
      this.#progressed.set(seq, value);
    },
  };

  constructor(opts: InlineSpawnOptions, events: WorkerEvents) {
    this.id = opts.id;
    this.#names = opts.tasks.map(([n]) => n);
    this.#fns = opts.tasks.map(([, f]) => f);
    this.#events = events;
    this.#prefix = opts.corrPrefix;
    this.#graceMs = opts.abortGraceMs;
    this.#clock = opts.clock;
    // Never call back into the scheduler from inside its own spawn call.
    microtask(() => {
      if (!this.#stopping) events.ready(this, this.#names);
    });
  }

  send(message: unknown[], transfer?: readonly Transferable[]): void {
    if (this.#stopping) return; // the exit that follows requeues what never started
    if (message[0] === Op.Run || message[0] === Op.RunMarked || message[0] === Op.RunAfter || message[0] === Op.RunAfterMarked) {
      // Moved now, as postMessage would move them: a value that cannot be
      // cloned throws here, with nothing detached, and the pool refuses its task.
      if (transfer !== undefined) this.#moveInputs(message, transfer);
      // Run on the next microtask, not inside the scheduler's flush: a task
      // may call pool.run() synchronously, and must find the books settled.
      this.#inbox.push(message);
      if (!this.#inboxQueued) {
        this.#inboxQueued = true;
        microtask(this.#runInbox);
      }
    } else if (message[0] === Op.Abort) {
      const seq = message[1] as number;
      const ctx = this.#running[seq & MASK];
      if (ctx !== undefined && ctx.seq === seq) ctx.abort(abortReason(message[2] as AbortKind));
      else if (seq > this.#received) this.#abortedEarly.add(seq);
    } else if (message[0] === Op.Sync) {
      // After the inbox (queued earlier) has been run or answered Revoked.
      const id = message[1] as number;
      microtask(() => this.#events.synced?.(this, id));
    } else if (message[0] === Op.Revoke) {
      for (let i = 1; i < message.length; i++) {
        const seq = message[i] as number;
        if (seq > this.#received) this.#revoked.add(seq);
      }
    }
  }

  startedAt(seq: number): number | undefined {
    if (seq > this.#startedSeq) return undefined;
    return performance.timeOrigin + (this.#startTimes[seq & MASK] as number);
  }

  /**
   * True once the task's function returned, threw or settled. Its result
   * went to the pool at once, except while the worker is stopping, when it
   * is dropped: then this tells the pool the task finished.
   */
  finished(seq: number): boolean {
    return this.#finished[seq & MASK] === seq;
  }

  /** An in-process worker shares the pool's process: its figures are the process's own. */
  diagnose(): Promise<{ self: WorkerSelfReport | undefined; pid: number | undefined; proc: ProcStatus | undefined }> {
    return Promise.resolve({ self: this.#exited ? undefined : selfReport(true, () => performance.eventLoopUtilization()), pid: process.pid, proc: undefined });
  }

  terminate(why?: StopReason): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#inbox = []; // never started: the scheduler requeues them on exit
    const reason = abortReason(why === 'timeout' ? AbortKind.TimedOut : 'stopped');
    if (this.#runningCount > 0) for (const ctx of this.#running) ctx?.abort(reason);
    // Only a timeout has not yet given the task its grace (an abort's grace
    // already ran out; close and terminate mean now): hold the slot while
    // the function may still notice its signal.
    if (why === 'timeout' && this.#runningCount > 0 && this.#graceMs > 0) {
      this.#grace = this.#clock.setTimeout(() => this.#exit(), this.#graceMs);
    } else {
      microtask(() => this.#exit());
    }
  }

  #exit(): void {
    if (this.#exited) return;
    this.#exited = true;
    if (this.#grace !== undefined) this.#clock.clearTimeout(this.#grace);
    // Whatever still runs is abandoned; its result, if it ever comes, is dropped.
    this.#running.fill(undefined);
    this.#runningCount = 0;
    this.#events.exit(this, { code: 0, signal: null, error: undefined, oom: false });
  }

  /**
   * Runs a batch now, inside the caller's call: the pool's start at
   * submission (a task submitted while a slot is free starts synchronously,
   * as with p-queue). The pool calls it last, with its books settled, and
   * only on a worker with nothing in flight, so arrival numbering cannot
   * overtake a batch still in the inbox.
   */
  runNow(message: unknown[]): void {
    if (this.#stopping) return; // the exit that follows requeues it: it never started
    this.#runBatch(message, performance.now());
  }

  #moveInputs(message: unknown[], transfer: readonly Transferable[]): void {
    const inputs: unknown[] = [];
    for (let i = 2; i < message.length; i += TASK_STRIDE) inputs.push(message[i]);
    const moved = moveValues(inputs, transfer);
    for (let i = 2, k = 0; i < message.length; i += TASK_STRIDE, k++) message[i] = moved[k];
  }

  #flushProgress(): void {
    if (this.#stopping || this.#progressed.size === 0) return;
    const msg: unknown[] = [Op.Progress];
    for (const [seq, value] of this.#progressed) msg.push(seq, value);
    this.#progressed.clear();
    this.#events.progress?.(this, msg);
  }

  #drainInbox(): void {
    this.#inboxQueued = false;
    const batches = this.#inbox;
    this.#inbox = [];
    if (this.#stopping) return;
    const now = performance.now();
    for (const msg of batches) this.#runBatch(msg, now);
  }

  #runBatch(msg: unknown[], now: number): void {
    {
      const first = this.#received + 1;
      this.#events.started(this, first, this.#received + (msg.length - 1) / TASK_STRIDE);
      for (let i = 1; i < msg.length; i += TASK_STRIDE) {
        const seq = ++this.#received;
        if (this.#revoked.size !== 0 && this.#revoked.delete(seq)) {
          this.#events.results(this, [Op.Results, seq, Status.Revoked, null]);
          continue;
        }
        this.#startTimes[seq & MASK] = now;
        this.#startedSeq = seq;
        if (this.#abortedEarly.delete(seq)) {
          this.#push(seq, Status.Thrown, abortReason(AbortKind.Cancelled));
          continue;
        }
        const idx = msg[i] as number;
        const fn = this.#fns[idx] as TaskFn;
        const corr = msg[i + 3];
        const ctx = new TaskCtx(seq, msg[i + 2] as number, corrOf(corr), this.id, this.#prefix, this.#sink, traceOf(corr));
        this.#runOne(fn, msg[i + 1], ctx, seq, idx);
      }
    }
  }

  #runOne(fn: TaskFn, input: unknown, ctx: TaskCtx, seq: number, idx: number): void {
    const running = this.#running;
    let out: unknown;
    try {
      out = runTask(fn, input, ctx, this.#names[idx] as string);
    } catch (err) {
      this.#push(seq, Status.Thrown, this.#asError(err, idx));
      return;
    }
    if (out !== null && typeof out === 'object' && typeof (out as PromiseLike<unknown>).then === 'function') {
      const at = seq & MASK;
      running[at] = ctx;
      this.#runningCount++;
      (out as PromiseLike<unknown>).then(
        (value) => {
          if (running[at] !== ctx) return; // abandoned: the worker exited
          running[at] = undefined;
          this.#runningCount--;
          this.#push(seq, Status.Ok, value);
        },
        (err: unknown) => {
          if (running[at] !== ctx) return;
          running[at] = undefined;
          this.#runningCount--;
          this.#push(seq, Status.Thrown, this.#asError(err, idx));
        },
      );
    } else {
      this.#push(seq, Status.Ok, out);
    }
  }

  /** The same rule as across a worker boundary: a thrown non-Error becomes TaskFailedError. */
  #asError(err: unknown, idx: number): Error {
    return err instanceof Error ? err : new TaskFailedError(this.#names[idx] as string, err);
  }

  /**
   * Hands one result to the scheduler at once. Always called from a
   * microtask (the inbox drain or a task's promise reaction), never from
   * inside a scheduler call, so there is nothing to gain from batching a
   * depth-1 worker's results behind one more microtask.
   */
  #push(seq: number, status: Status, value: unknown): void {
    this.#finished[seq & MASK] = seq;
    const list = this.#transfers.size === 0 ? undefined : this.#transfers.get(seq);
    if (list !== undefined) {
      this.#transfers.delete(seq);
      if (status !== Status.Ok) detach(list);
      else {
        try {
          value = (moveValues([value], list) as [unknown])[0];
        } catch (err) {
          // As on a thread: an output that cannot be cloned fails its task with SerializationError.
          status = Status.Unclonable;
          value = encodeError(err);
        }
      }
    }
    if (this.#stopping) {
      if (this.#runningCount === 0) this.#exit();
      return;
    }
    // Its last progress report goes first, as on the other kinds.
    if (this.#progressed.size !== 0 && this.#progressed.has(seq)) {
      const last = this.#progressed.get(seq);
      this.#progressed.delete(seq);
      this.#events.progress?.(this, [Op.Progress, seq, last]);
    }
    this.#events.results(this, [Op.Results, seq, status, value]);
  }
}
