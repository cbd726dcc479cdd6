/**
 * The worker-side runtime: the only sluice code that runs inside a worker.
 * It imports the task module, reports the task names, runs batches of tasks
 * as they arrive and sends their results back in batches.
 *
 * It is transport-agnostic: the thread entry and the process entry each hand
 * it a `Transport`, so both kinds of worker behave the same.
 *
 * Each task's fate is its own: the runtime marks every start and finish in
 * the worker's shared state (protocol.ts), and before a task's
 * process.exit() or an uncaught exception ends the worker it sends the
 * results it still holds (and, from a process, a report of those marks),
 * so the pool neither blames finished tasks for the death nor fails tasks
 * that never started. None of it adds a message per task.
 */

import type { Transferable } from '../api/types.js';
import { encodeError, type EncodedError } from '../wire/error-codec.js';
import { AbortKind, corrOf, epochNow, FINISH_OFFSET, HEAP_OFFSET, Op, REPORT_BYTES, REPORT_FINAL, TASK_STRIDE, traceOf, START_RING, Status, type WorkerInit } from '../wire/protocol.js';
import { bufferPaths, reviveBuffers, type Marked } from '../wire/values.js';
import { checkHealth, exclusiveTasks, findHooks, hookFlags, type LifecycleHooks } from './lifecycle.js';
import { runTask } from './task-hooks.js';
import { abortReason, keepTransfer, TaskCtx } from './task-context.js';
import { collectTasks, type TaskFn } from './collect-tasks.js';
import { needsLoaderHooks } from './loader-flags.js';

export interface Transport {
  post(message: unknown[], transfer?: Transferable[]): void;
  onMessage(listener: (message: unknown[]) => void): void;
}

interface Outbox {
  items: unknown[];
  /** Some output in `items` holds Buffers (Status.OkBuffers): the batch goes as Op.ResultsBuffers. */
  marked: boolean;
  /** What each task marked with `ctx.transfer`, by seq, until its result goes (with it, never with another's). */
  transfers: Map<number, Transferable[]>;
  transfer(seq: number, items: Transferable[]): void;
  /** Each task's latest progress value since the last flush (see Op.Progress). */
  progressed: Map<number, unknown>;
  progress(seq: number, value: unknown): void;
}

/** A task whose synchronous part averages more than this is "long": finished results are sent before it starts. */
const LONG_TASK_MS = 0.5;
/**
 * An async task whose synchronous part is at most this share of its whole
 * time spent the rest waiting (on I/O, a timer, another thread), its
 * worker's event loop free: such tasks may share the worker (Op.IoBound).
 */
const WAITING_SYNC_SHARE = 0.25;
/** ...if it takes at least this long: shorter ones are the service-time pipeline's business (engine/pipeline.ts). */
const WAITING_MIN_MS = 1;
/**
 * ...and if this worker's event loop was busy at most this share of the
 * task's life. The synchronous part alone cannot tell a task that waits
 * from one that awaits and then computes: 32 of those side by side would
 * compute one after another, and their time limits run out together.
 */
const WAITING_LOOP_BUSY = 0.5;
const MASK = START_RING - 1;

export function startRuntime(transport: Transport, init: WorkerInit): void {
  const state = init.state;
  const isProcess = init.process === true;
  // Outputs and progress holding Buffers are marked for a thread's
  // postMessage, which would make them Uint8Arrays (wire/values.ts); a
  // process's 'advanced' serialization keeps Buffers as they are.
  const marks = !isProcess;
  const started = state ? new Int32Array(state, 0, 1) : null;
  const startTimes = state ? new Float64Array(state, 8, START_RING) : null;
  // Where nothing is shared (tests driving the runtime directly), a private
  // ring keeps the per-task store free of a branch.
  const finishRing = state ? new Int32Array(state, FINISH_OFFSET, START_RING) : new Int32Array(START_RING);
  /** The last seq stored as started: the expected value of the next compare-exchange (see runOne). */
  let lastStarted = 0;
  /** A process worker's watchdog fenced the start marker: the pool is killing this worker, start nothing more. */
  let fenced = false;
  let tasks: TaskFn[] = [];
  let names: string[] = [];
  /** Moving average of each task's synchronous running time, -1 until first seen. */
  let syncMs = new Float64Array(0);
  let runCount = new Uint32Array(0);
  /** Tasks the module declares exclusive (lifecycle.ts), by index; null when none is. */
  let exclusive: Uint8Array | null = null;
  /** An exclusive task is running asynchronously: it is the only task running here, and nothing starts until it settles. */
  let exclusiveRunning = false;
  /**
   * Sampled async tasks still running, by `seq & MASK`: their seq (so a
   * stale entry is told apart), name index, start and synchronous time. Read
   * as each settles, to judge whether this worker's tasks mostly wait.
   */
  const sampledSeq = new Int32Array(START_RING);
  const sampledName = new Int32Array(START_RING);
  const sampledAt = new Float64Array(START_RING);
  const sampledSync = new Float64Array(START_RING);
  /** The event loop's active and idle time (ms) when each sampled task went async. */
  const sampledActive = new Float64Array(START_RING);
  const sampledIdle = new Float64Array(START_RING);
  /** What the pool was last told (Op.IoBound): this worker's tasks mostly wait. */
  let waiting = false;
  let received = 0;
  /** Tasks still running asynchronously, by seq, so an abort can reach them. */
  const running = new Map<number, TaskCtx>();
  /** Aborts that arrived before their task started (still in this batch). */
  const abortedEarly = new Set<number>();
  /**
   * Batches held back, in arrival order: a RunAfter batch waits until no task
   * is running here, and anything arriving behind a held batch waits behind
   * it so tasks still start in sequence order. Held tasks are not counted in
   * `received` yet, so an abort for one lands in `abortedEarly` as for a
   * task still on the wire.
   */
  const held: unknown[][] = [];
  /** Tasks in `held` batches. */
  let heldTasks = 0;
  /**
   * Tasks the pool took back before they started (work stealing), by seq:
   * true once answered. A held task is answered at once, one still on the
   * wire as soon as it arrives; either way it is skipped when reached.
   */
  const revoked = new Map<number, boolean>();
  let releasing = false;
  const releaseHeld = (): void => {
    // A task that returns a thenable which settles synchronously calls back
    // in here from inside runBatch; the loop below goes on once that batch
    // is done, so a nested call must not start the next one early.
    if (releasing) return;
    releasing = true;
    try {
      while (held.length > 0) {
        const next = held[0] as unknown[];
        if (running.size > 0 && (next[0] === Op.RunAfter || next[0] === Op.RunAfterMarked)) return;
        held.shift();
        heldTasks -= (next.length - 1) / TASK_STRIDE;
        runBatch(next);
      }
    } finally {
      releasing = false;
    }
  };
  /**
   * A sampled task's verdict on whether this worker's tasks mostly wait; the
   * pool hears when the verdict changes. The latest sampled verdict stands,
   * so a worker whose work changes character is re-judged within a few
   * dozen tasks (every task name is sampled at least every 32nd run).
   */
  const judge = (isWaiting: boolean): void => {
    if (isWaiting === waiting) return;
    waiting = isWaiting;
    transport.post([Op.IoBound, isWaiting ? 1 : 0]);
  };
  const settledAsync = (seq: number): void => {
    running.delete(seq);
    const k = seq & MASK;
    if (sampledSeq[k] === seq) {
      sampledSeq[k] = 0;
      const name = sampledName[k] as number;
      const total = performance.now() - (sampledAt[k] as number);
      if (total >= WAITING_MIN_MS) {
        const elu = performance.eventLoopUtilization();
        const active = elu.active - (sampledActive[k] as number);
        const idle = elu.idle - (sampledIdle[k] as number);
        const busy = active + idle > 0 ? active / (active + idle) : 1;
        // Exclusive tasks never share their worker, so they never count as waiting.
        judge((exclusive === null || exclusive[name] === 0) && (sampledSync[k] as number) <= total * WAITING_SYNC_SHARE && busy <= WAITING_LOOP_BUSY);
      }
    }
    if (running.size === 0) {
      exclusiveRunning = false;
      if (held.length > 0) releaseHeld();
    }
  };
  const outbox: Outbox = {
    items: [],
    marked: false,
    transfers: new Map(),
    transfer: (seq, items) => keepTransfer(outbox.transfers, seq, items),
    progressed: new Map(),
    progress: (seq, value) => {
      outbox.progressed.set(seq, value);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
    },
  };
  let flushQueued = false;
  const flushProgress = (): void => {
    const msg: unknown[] = [Op.Progress];
    for (const [seq, value] of outbox.progressed) {
      const paths = marks ? bufferPaths(value) : null;
      if (paths === null) msg.push(seq, value);
      else {
        msg[0] = Op.ProgressBuffers;
        msg.push(~seq, [value, paths]);
      }
    }
    outbox.progressed.clear();
    try {
      transport.post(msg);
    } catch {
      // A value that cannot be cloned is dropped, one by one: progress is advisory, and the task goes on.
      for (let i = 1; i < msg.length; i += 2) {
        try {
          transport.post([(msg[i] as number) < 0 ? Op.ProgressBuffers : Op.Progress, msg[i], msg[i + 1]]);
        } catch {
          /* dropped */
        }
      }
    }
  };
  const flush = (): void => {
    flushQueued = false;
    // Progress first: a task's last report arrives before its result.
    if (outbox.progressed.size !== 0) flushProgress();
    const items = outbox.items;
    if (items.length === 0) return;
    const marked = outbox.marked;
    outbox.items = [];
    outbox.marked = false;
    // The transfer lists of the tasks whose results go now: a task still running keeps its buffers.
    let transfer: Transferable[] | undefined;
    let own: Map<number, Transferable[]> | undefined;
    if (outbox.transfers.size !== 0) {
      for (let i = 0; i < items.length; i += 3) {
        const seq = items[i] as number;
        const list = outbox.transfers.get(seq);
        if (list === undefined) continue;
        outbox.transfers.delete(seq);
        (transfer ??= []).push(...list);
        (own ??= new Map()).set(seq, list);
      }
    }
    items.unshift(marked ? Op.ResultsBuffers : Op.Results);
    try {
      transport.post(items, transfer);
    } catch {
      // Some output in this batch cannot be cloned, or some task's transfer
      // list cannot be moved. Send the results one by one, each with its own
      // list, so only the offending task fails.
      for (let i = 1; i < items.length; i += 3) {
        const triple = [items[i + 1] === Status.OkBuffers ? Op.ResultsBuffers : Op.Results, items[i], items[i + 1], items[i + 2]];
        try {
          transport.post(triple, own?.get(items[i] as number));
        } catch (err) {
          transport.post([Op.Results, items[i], Status.Unclonable, encodeError(err)]);
        }
      }
    }
  };
  const enqueue = (seq: number, status: Status, value: unknown): void => {
    outbox.items.push(seq, status, value);
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flush);
    }
  };
  /** A task's result. */
  const push = (seq: number, status: Status, value: unknown): void => {
    // The finish marker: the pool (threads) or the watchdog (processes)
    // reads it to tell a task whose result was lost with its worker from
    // one that was still running. One store per task, nothing more.
    Atomics.store(finishRing, seq & MASK, seq);
    enqueue(seq, status, value);
  };
  /** A task's output: marked where it holds Buffers (a thread's postMessage would make them Uint8Arrays). */
  const ok = (seq: number, value: unknown): void => {
    if (marks) {
      const paths = bufferPaths(value);
      if (paths !== null) {
        outbox.marked = true;
        push(seq, Status.OkBuffers, [value, paths]);
        return;
      }
    }
    push(seq, Status.Ok, value);
  };

  /** Runs one task; true when it went on asynchronously (it returned a thenable). */
  const runOne = (fn: TaskFn, input: unknown, ctx: TaskCtx, name: string, nameIdx: number): boolean => {
    const seq = ctx.seq;
    if (startTimes !== null && started !== null) {
      startTimes[seq & MASK] = epochNow();
      // A compare-exchange where a store would do on threads: before the
      // pool kills a process worker, its watchdog swaps -1 into this word
      // and reports the seq it took out. Failing here keeps that report
      // exact: no task starts after it.
      if (Atomics.compareExchange(started, 0, lastStarted, seq) !== lastStarted) {
        fenced = true;
        return false;
      }
      lastStarted = seq;
    }
    let out: unknown;
    try {
      out = runTask(fn, input, ctx, name);
    } catch (err) {
      push(seq, Status.Error, encodeError(err));
      return false;
    }
    if (out !== null && typeof out === 'object' && typeof (out as PromiseLike<unknown>).then === 'function') {
      running.set(seq, ctx);
      if (exclusive !== null && exclusive[nameIdx] === 1) exclusiveRunning = true;
      (out as PromiseLike<unknown>).then(
        (value) => {
          ok(seq, value);
          settledAsync(seq);
        },
        (err: unknown) => {
          push(seq, Status.Error, encodeError(err));
          settledAsync(seq);
        },
      );
      return true;
    }
    ok(seq, out);
    return false;
  };

  /**
   * Whether a batch's task with this name field must wait for the tasks
   * running here: it is exclusive, or an exclusive one runs. Only asked when
   * the module declares exclusive tasks. (A negative field is a task whose
   * input holds Buffers, its index complemented: see runBatch.)
   */
  const mustWait = (excl: Uint8Array, field: unknown): boolean => {
    if (running.size === 0) return false;
    const idx = field as number;
    return exclusiveRunning || excl[idx < 0 ? ~idx : idx] === 1;
  };

  /**
   * The first task after the one at `from` that may be held behind an
   * exclusive task (an exclusive task, or any task after one), as an index
   * into `msg`; `msg.length` when none may be.
   */
  const mayHoldFrom = (excl: Uint8Array, msg: unknown[], from: number): number => {
    for (let j = from + TASK_STRIDE; j < msg.length; j += TASK_STRIDE) {
      const here = msg[j] as number;
      const before = msg[j - TASK_STRIDE] as number;
      if (excl[here < 0 ? ~here : here] === 1 || excl[before < 0 ? ~before : before] === 1) return j;
    }
    return msg.length;
  };

  /**
   * Holds a batch's tasks from `i` on, at the front of the held batches
   * (they arrived before any batch held now), as a RunAfter batch: they
   * start once nothing runs here. Rare (exclusive tasks only), so a copy.
   */
  const holdRest = (msg: unknown[], i: number): void => {
    const marked = msg[0] === Op.RunMarked || msg[0] === Op.RunAfterMarked;
    const rest = [marked ? Op.RunAfterMarked : Op.RunAfter, ...msg.slice(i)];
    const n = (rest.length - 1) / TASK_STRIDE;
    held.unshift(rest);
    heldTasks += n;
    // Revoked while on the wire, and now held here: hand back at once (as hold does).
    if (revoked.size !== 0) {
      for (let seq = received + 1; seq <= received + n; seq++) {
        if (revoked.get(seq) === false) {
          revoked.set(seq, true);
          enqueue(seq, Status.Revoked, null);
        }
      }
    }
  };

  const runBatch = (msg: unknown[]): void => {
    // Fenced: the worker is about to be killed, and the pool requeues what
    // it was told never started.
    if (fenced) return;
    // An exclusive task waits before the start marker, which says the batch's first task started.
    if (exclusive !== null && mustWait(exclusive, msg[1])) {
      holdRest(msg, 1);
      return;
    }
    // The start marker is written before the first task it names runs, so
    // the pool learns they started even if a task then blocks or kills this
    // process. It names the whole batch, except where a task of it may be
    // held behind an exclusive one (holdRest): then it names the tasks up to
    // there, and the next ones get their own marker once they are reached,
    // so a held task is never reported as started.
    const startMarks = init.startMarkers === true || msg[0] === Op.RunMarked || msg[0] === Op.RunAfterMarked;
    let markedTo = 0;
    for (let i = 1; i < msg.length; i += TASK_STRIDE) {
      if (exclusive !== null && i > 1 && mustWait(exclusive, msg[i])) {
        holdRest(msg, i);
        return;
      }
      if (startMarks && i >= markedTo) {
        markedTo = exclusive === null ? msg.length : mayHoldFrom(exclusive, msg, i);
        transport.post([Op.Started, received + 1, received + (markedTo - i) / TASK_STRIDE, epochNow()]);
      }
      const seq = ++received;
      if (revoked.size !== 0) {
        const answered = revoked.get(seq);
        if (answered !== undefined) {
          // Taken back: never started, never finished, answered once.
          revoked.delete(seq);
          if (!answered) enqueue(seq, Status.Revoked, null);
          continue;
        }
      }
      const corr = msg[i + 3];
      const ctx = new TaskCtx(seq, msg[i + 2] as number, corrOf(corr), init.workerId, init.corrPrefix, outbox, traceOf(corr));
      if (abortedEarly.delete(seq)) {
        push(seq, Status.Error, encodeError(new Error('aborted before it started')));
        continue;
      }
      let nameIdx = msg[i] as number;
      let input = msg[i + 1];
      if (nameIdx < 0) {
        // The input holds Buffers (dispatch.ts marked them): rebuild them.
        nameIdx = ~nameIdx;
        input = reviveBuffers((input as Marked)[0], (input as Marked)[1]);
      }
      const fn = tasks[nameIdx];
      if (fn === undefined) {
        push(seq, Status.Error, encodeError(new Error(`no task at index ${String(nameIdx)}`)));
        continue;
      }
      // Results of earlier tasks in this batch wait for the batch to end.
      // If the next task may be long (or never seen), send them first: a
      // task that blocks, hangs or kills the worker must not take
      // finished results down with it.
      const known = syncMs[nameIdx] as number;
      if (outbox.items.length > 0 && (known < 0 || known > LONG_TASK_MS)) flush();
      // Timing every task costs more than tiny tasks do; sample instead.
      const runs = runCount[nameIdx] as number;
      runCount[nameIdx] = runs + 1;
      if (runs < 8 || (runs & 31) === 0) {
        const t0 = performance.now();
        const pending = runOne(fn, input, ctx, names[nameIdx] as string, nameIdx);
        const took = performance.now() - t0;
        syncMs[nameIdx] = known < 0 ? took : known * 0.8 + took * 0.2;
        if (pending) {
          // Judged when it settles (settledAsync).
          const k = seq & MASK;
          sampledSeq[k] = seq;
          sampledName[k] = nameIdx;
          sampledAt[k] = t0;
          sampledSync[k] = took;
          const elu = performance.eventLoopUtilization();
          sampledActive[k] = elu.active;
          sampledIdle[k] = elu.idle;
        } else if (took > LONG_TASK_MS) judge(false);
      } else {
        runOne(fn, input, ctx, names[nameIdx] as string, nameIdx);
      }
      if (fenced) return;
    }
  };

  const hold = (msg: unknown[]): void => {
    held.push(msg);
    const from = received + heldTasks;
    heldTasks += (msg.length - 1) / TASK_STRIDE;
    // Revoked while on the wire, and now held here: hand back at once.
    if (revoked.size !== 0) {
      for (let seq = from + 1; seq <= received + heldTasks; seq++) {
        if (revoked.get(seq) === false) {
          revoked.set(seq, true);
          enqueue(seq, Status.Revoked, null);
        }
      }
    }
  };

  const onMessage = (msg: unknown[]): void => {
    switch (msg[0]) {
      case Op.Run:
      case Op.RunMarked:
        if (held.length > 0) hold(msg);
        else runBatch(msg);
        break;
      case Op.RunAfter:
      case Op.RunAfterMarked:
        if (held.length > 0 || running.size > 0) hold(msg);
        else runBatch(msg);
        break;
      case Op.Revoke:
        for (let i = 1; i < msg.length; i++) {
          const seq = msg[i] as number;
          // Reached already (it started, or was dropped): it answers as usual.
          if (seq <= received || revoked.has(seq)) continue;
          // Held here: hand it back now, not after the task it waits behind.
          const isHeld = seq <= received + heldTasks;
          revoked.set(seq, isHeld);
          if (isHeld) enqueue(seq, Status.Revoked, null);
        }
        break;
      case Op.WorkerData:
        gotWorkerData(msg[1]);
        break;
      case Op.Sync:
        // Everything before it has been handled: flush what it produced (Revoked answers), then answer.
        flush();
        transport.post([Op.SyncReply, msg[1]]);
        break;
      case Op.Health:
        void checkHealth(hooks).then(([ok, detail]) => transport.post([Op.HealthReply, msg[1], ok, detail]));
        break;
      case Op.Close:
        void closeGracefully();
        break;
      case Op.Diag:
        // Loaded on first use: most workers are never asked, and every module costs start-up time.
        void import('../observability/worker-diagnostics.js').then(({ selfReport }) =>
          transport.post([Op.DiagReply, msg[1], selfReport(isProcess, () => performance.eventLoopUtilization())]),
        );
        break;
      case Op.Abort: {
        const seq = msg[1] as number;
        const ctx = running.get(seq);
        if (ctx !== undefined) ctx.abort(abortReason(msg[2] as AbortKind));
        else if (seq > received) abortedEarly.add(seq);
        break;
      }
      default:
        break;
    }
  };

  let hooks: LifecycleHooks = {};
  let gotWorkerData: (value: unknown) => void = () => undefined;
  const workerData: Promise<unknown> = init.workerDataByMessage === true ? new Promise((resolve) => (gotWorkerData = resolve)) : Promise.resolve(init.workerDataBuffers === undefined ? init.workerData : reviveBuffers(init.workerData, init.workerDataBuffers));
  let closing = false;
  // Teardown runs once; the pool kills the worker if it takes longer than teardownTimeoutMs.
  const closeGracefully = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    try {
      await hooks.teardown?.();
    } catch {
      // Nothing to report to: the worker is leaving either way.
    }
    process.exit(0);
  };

  /**
   * A report of starts and finishes (protocol.ts) from this thread's own
   * view: `lastStarted` rather than the shared word, which reads -1 once
   * the watchdog has fenced it.
   */
  const report = (final: boolean): Uint8Array => {
    const out = new Uint8Array(REPORT_BYTES);
    out.set(new Uint8Array(state as SharedArrayBuffer, 0, REPORT_BYTES));
    const words = new Int32Array(out.buffer, 0, 2);
    words[0] = lastStarted;
    words[1] = final ? REPORT_FINAL : 0;
    return out;
  };
  /**
   * The worker's final words, before a task's process.exit() or an uncaught
   * exception or rejection ends it: the results still in the outbox (they
   * would otherwise die with the worker, and the pool blame their tasks),
   * then, from a process, the exact report the pool has no shared memory
   * for. Synchronous, and only on the way out: the hot path still sends
   * results once per microtask.
   */
  const lastWords = (final: boolean): void => {
    try {
      flush();
      // Whether any task was running: none when the last one started has
      // finished and no async one is pending. A worker that ends itself
      // while running nothing (a timer in the module calling exit, say)
      // cannot blame a task, and restart intensity counts it as barren.
      if (final) transport.post([Op.Leaving, running.size === 0 && (lastStarted === 0 || finishRing[lastStarted & MASK] === lastStarted) ? 1 : 0]);
      if (isProcess && state !== null) transport.post([Op.Report, report(final)]);
    } catch {
      // Leaving anyway; whatever did not go out is classified as unreported.
    }
  };
  const exit = process.exit.bind(process);
  // The arguments pass through as they came: process.exit() without one
  // keeps process.exitCode, which Node's own uncaught-exception path in a
  // worker thread relies on (it calls process.exit() after setting it).
  process.exit = (...args: Parameters<typeof process.exit>) => {
    lastWords(true);
    return exit(...args);
  };
  // Runs synchronously before the exception ends the worker (threads and
  // processes alike). With an 'uncaughtException' listener the worker may
  // live on: results still go, but the report is not final.
  process.on('uncaughtExceptionMonitor', () => lastWords(process.listenerCount('uncaughtException') === 0));

  transport.onMessage(onMessage);
  startHeartbeat(transport, init);

  const nodeOptions = process.env.NODE_OPTIONS;
  (needsLoaderHooks(process.execArgv, nodeOptions) ? import('./loader-hooks.js').then((m) => m.installLoaderHooks(process.execArgv, nodeOptions)) : Promise.resolve())
    // The setup module (tracing, instrumentation) runs before the task module loads.
    .then(() => (init.setup === undefined ? undefined : import(init.setup)))
    .then(() => import(init.module) as Promise<Record<string, unknown>>)
    .then(
    async (ns: Record<string, unknown>) => {
      const collected = collectTasks(ns);
      hooks = findHooks(ns);
      // Checked before init runs: a bad declaration is the module's fault, like a bad hook.
      const taskNames = collected.map(([name]) => name);
      const declared = exclusiveTasks(hooks, taskNames);
      if (hooks.init !== undefined) {
        try {
          await hooks.init(await workerData, { workerId: init.workerId });
        } catch (err) {
          transport.post([Op.InitError, encodeError(err), 'init']);
          return;
        }
      }
      tasks = collected.map(([, fn]) => fn);
      names = taskNames;
      exclusive = declared;
      syncMs = new Float64Array(tasks.length).fill(-1);
      runCount = new Uint32Array(tasks.length);
      transport.post([Op.Ready, taskNames, hookFlags(hooks)]);
    },
  )
    .catch((err: unknown) => {
      const enc: EncodedError = encodeError(err);
      transport.post([Op.InitError, enc]);
    });
}

/**
 * The worker's heartbeat, on its own timer: it fires only while this event
 * loop is free, so a worker stuck in synchronous code stops beating. Threads
 * beat in shared memory (no message); processes send a tiny message. Each
 * beat carries heap used (and RSS for processes) for recycling and leak
 * detection.
 */
function startHeartbeat(transport: Transport, init: WorkerInit): void {
  const ms = init.heartbeatMs;
  if (ms === undefined) return;
  let beat: () => void;
  // A process's shared state is its own (shared with its watchdog only): the pool hears beats by message.
  if (init.state !== null && init.process !== true) {
    const counter = new Int32Array(init.state, 4, 1);
    const heap = new Float64Array(init.state, HEAP_OFFSET, 1);
    beat = () => {
      heap[0] = process.memoryUsage().heapUsed;
      Atomics.add(counter, 0, 1);
    };
  } else {
    beat = () => {
      const m = process.memoryUsage();
      transport.post([Op.Beat, m.heapUsed, m.rss]);
    };
  }
  beat();
  setInterval(beat, ms).unref();
}
