/**
 * The wire between the pool and a worker. Messages are flat arrays, not
 * objects: one structured-clone header per batch instead of one object per
 * task, and no property names on the wire.
 *
 * Parent -> worker
 *   [Op.Run, name0, input0, id0, corr0, name1, input1, id1, corr1, ...]
 *       (TASK_STRIDE fields per task). `corr` is the correlation id or null;
 *       a task carrying trace context sends `[corr, carrier]` there instead,
 *       so untraced tasks pay nothing for tracing on the wire.
 *   [Op.RunMarked, ...same]  a Run batch for which the worker posts a Started marker
 *       (sent while someone subscribes to the `started` event)
 *   [Op.RunAfter, ...same], [Op.RunAfterMarked, ...same]  a batch sent ahead
 *       of need (the auto pipeline's prefetch for long tasks): the worker
 *       holds it until no task of its own is still running, so a long async
 *       task does not gain a concurrent neighbour it would not have had.
 *       a batch of tasks, in dispatch order. The worker numbers them by
 *       arrival (its own counter); the parent numbers them the same way, so
 *       no task id crosses the wire. `name` is the index in the task list the
 *       worker sent in Ready. `corr` is the correlation id or null.
 *       A thread task whose input holds Buffers sends `~name` (negative)
 *       and `[input, paths]` (wire/values.ts), so they arrive as Buffers.
 *   [Op.Abort, seq, kind]  abort the task with that per-worker sequence number (kind: AbortKind)
 *   [Op.Revoke, seq0, seq1, ...]  work stealing: give these tasks back if
 *       they have not started. Each one not started is answered with
 *       Status.Revoked (at once if its batch is held, else when its batch
 *       arrives) and never runs; one that started answers as usual.
 *   [Op.Sync, requestId]   a barrier: answered with SyncReply once every earlier
 *       message was handled and what it produced was flushed (pause and clear
 *       wait on it: after it, a revoked task can no longer start)
 *   [Op.Close]             run the module's teardown (sluice.teardown), then exit
 *   [Op.Health, requestId] run sluice.health(); answered with HealthReply
 *
 * Worker -> parent
 *   [Op.Ready, taskNames, hookFlags]   hookFlags: HookFlag bits (which lifecycle hooks the module has)
 *   [Op.InitError, EncodedError, phase]  phase 'init': sluice.init threw (the module itself loaded)
 *   [Op.Beat, heapUsed, rss]  process workers, every heartbeat interval (threads beat in shared memory)
 *   [Op.HealthReply, requestId, ok, detail]
 *   [Op.Started, firstSeq, lastSeq, epochMs]
 *       process workers only (WorkerInit.startMarkers): sent as the worker
 *       picks up a Run batch, before its first task runs: firstSeq started
 *       then, the others of the batch may have. See worker/process.ts.
 *   [Op.Report, bytes]  process workers' final words: a Uint8Array of
 *       REPORT_BYTES (layout below), sent right before the worker exits by
 *       process.exit() or dies of an uncaught exception or rejection, after
 *       every buffered result. It says exactly which tasks started and which
 *       finished; REPORT_FINAL set: nothing starts after it.
 *   [Op.Progress, seq0, value0, ...]  each task's latest ctx.progress() value
 *       since the last flush (coalesced: a task reporting in a tight loop
 *       sends one value per flush), posted before the Results of that flush
 *   [Op.SyncReply, requestId]
 *   [Op.IoBound, 0 | 1]  whether the worker's async tasks mostly wait (on I/O,
 *       timers, other threads) rather than compute: 1 lets the auto pipeline
 *       keep several of them on it at once (engine/pipeline.ts). Sent only
 *       when its judgement changes (runtime.ts).
 *   [Op.Results, seq0, status0, value0, seq1, status1, value1, ...]
 *       status: Status.Ok (value is the output) or Status.Error (value is an
 *       EncodedError) or Status.Unclonable (the output could not be cloned;
 *       value is an EncodedError of the clone failure) or Status.Revoked
 *       (taken back by Op.Revoke before it started; value is null; the task
 *       neither started nor finished)
 *   [Op.ResultsBuffers, ...same], [Op.ProgressBuffers, ...same]  from a
 *       thread, when some value in it holds Buffers: such a result is
 *       Status.OkBuffers with `[value, paths]`, such a report `~seq` with
 *       `[value, paths]`; the handle rewrites the message into the plain op
 *       with the Buffers rebuilt (wire/values.ts) before the pool sees it
 *
 * Per-worker shared memory (SHARED_STATE_BYTES): an Int32 "last started
 * seq" (tasks start in seq order, so every seq up to it has started), an
 * Int32 heartbeat counter (bytes 4..8, incremented by the worker's own
 * timer), a ring of START_RING Float64 start times, written by the worker as
 * each task starts (before the last-started store, so a reader that sees the
 * seq sees its time), a Float64 heap-used figure written with each beat,
 * then a ring of START_RING Int32 finished seqs (`seq & (START_RING - 1)`
 * holds `seq` once the task returned, threw or settled and its result is in
 * the worker's outbox). Thread workers share it with the pool, which reads
 * it to tell a task that is running from one still waiting in the worker's
 * inbox, and one that finished from one still running, without any message
 * per task. A process worker's child creates its own, shared with its
 * watchdog thread only (runtime/process-entry.ts); beats there go by message.
 *
 * Control pipe (process workers, the child's fd 4, answered by the child's
 * watchdog thread, so it answers while the main thread is stuck):
 *   parent -> child: one byte, Query.Probe or Query.Fence
 *   child -> parent: a report of REPORT_BYTES per query byte, in order
 *   Query.Fence first stops the runtime from starting any task after the
 *   report's last started seq (the pool is about to kill the worker), so
 *   the report is final (REPORT_FINAL): the watchdog swaps -1 into the
 *   last-started word, and the runtime's compare-exchange on it, as the
 *   next task would start, fails. EOF on the child's side: the parent is
 *   gone, and the child kills itself.
 *
 * A report (REPORT_BYTES) is a copy of the shared state with two words
 * rewritten: Int32 0 is the last started seq as the report's author saw it,
 * Int32 1 (the beat counter's place) holds REPORT_* flags.
 */

/** Fields per task in a Run message: name, input, id, corr (see above). */
import type { TraceCarrier } from '../observability/diagnostics.js';

export const TASK_STRIDE = 4;

/** The correlation id in a Run message's `corr` field (see above). Allocation-free: it runs per task. */
export function corrOf(field: unknown): string | null {
  return field === null || typeof field === 'string' ? field : (field as [string | null, TraceCarrier])[0];
}

/** The trace carrier in a Run message's `corr` field, or null. */
export function traceOf(field: unknown): TraceCarrier | null {
  return field === null || typeof field === 'string' ? null : (field as [string | null, TraceCarrier])[1];
}

export const enum Op {
  Run = 1,
  RunMarked = 4,
  /** A Run batch sent ahead: started only once the worker has no task running (see runtime.ts). */
  RunAfter = 8,
  RunAfterMarked = 9,
  Abort = 2,
  Close = 3,
  Ready = 10,
  InitError = 11,
  Results = 12,
  Started = 13,
  /** [Op.Diag, requestId] → [Op.DiagReply, requestId, WorkerSelfReport] */
  Diag = 5,
  DiagReply = 14,
  Health = 6,
  /** [Op.WorkerData, value]: process workers get the pool's workerData by message (structured clone, no argv size limit). */
  WorkerData = 7,
  HealthReply = 16,
  Beat = 15,
  /** [Op.Report, Uint8Array of REPORT_BYTES]: a process worker's final words (see above). */
  Report = 17,
  /** [Op.Revoke, seq, ...]: work stealing, answered per task with Status.Revoked (see above). */
  Revoke = 18,
  /**
   * [Op.Leaving, idle]: the worker is ending itself (process.exit, an
   * uncaught exception), sent with its final words; idle is 1 when no task
   * was running then (restart intensity counts such an exit as barren).
   */
  Leaving = 19,
  /** [Op.Progress, seq0, value0, seq1, value1, ...]: each task's latest `ctx.progress(value)` since the last flush (see above). */
  Progress = 20,
  /** [Op.Sync, requestId]: answered with [Op.SyncReply, requestId] once every message sent before it has been handled and its results flushed. */
  Sync = 21,
  SyncReply = 22,
  /** An Op.Results batch with Buffers in some outputs (Status.OkBuffers; see above and wire/values.ts). */
  ResultsBuffers = 23,
  /** An Op.Progress message with Buffers in some values (`~seq`; see above). */
  ProgressBuffers = 24,
  /** [Op.IoBound, 0 | 1]: the worker's async tasks mostly wait (1) or compute (0); see above. */
  IoBound = 25,
}

/** One-byte queries on a process worker's control pipe (see above). */
export const enum Query {
  Probe = 0x70,
  Fence = 0x66,
}

/** A report's flags (its Int32 1): nothing can start after the report (fenced, or the worker is dying). */
export const REPORT_FINAL = 1;

/** Bits of the Ready message's hookFlags. */
export const enum HookFlag {
  Teardown = 1,
  Health = 2,
}

/** Why the pool aborted a running task; the worker turns it into the signal's reason. */
export const enum AbortKind {
  Cancelled = 0,
  TimedOut = 1,
}

export const enum Status {
  Ok = 0,
  Error = 1,
  Unclonable = 2,
  /** In-process workers (kind 'async'): value is the Error itself, never encoded. */
  Thrown = 3,
  /** Taken back by Op.Revoke before it started: it never ran; value is null. */
  Revoked = 4,
  /** Ok, and the output holds Buffers: value is `[output, paths]` (only in an Op.ResultsBuffers batch; wire/values.ts). */
  OkBuffers = 5,
}

/** Slots in the start-time ring; the pool never has more than this in flight on one worker. */
export const START_RING = 256;
/** Byte offset of the Float64 heap-used figure in the shared state. */
export const HEAP_OFFSET = 8 + 8 * START_RING;
/** Byte offset of the Int32 ring of finished seqs in the shared state. */
export const FINISH_OFFSET = HEAP_OFFSET + 8;
/** Bytes of the per-worker shared state: Int32 seq, Int32 beat counter, the Float64 ring, Float64 heap used, the Int32 finished ring. */
export const SHARED_STATE_BYTES = FINISH_OFFSET + 4 * START_RING;
/** Bytes of a report (the shared state's layout; see above). */
export const REPORT_BYTES = SHARED_STATE_BYTES;

/** The data a worker is started with. */
export interface WorkerInit {
  module: string;
  workerId: number;
  /**
   * SharedArrayBuffer of SHARED_STATE_BYTES, or null where there is none.
   * Null on the wire to a process worker: its entry creates one (shared
   * with its watchdog thread, not with the pool) and sets `process`.
   */
  state: SharedArrayBuffer | null;
  /**
   * The worker is a child process: the pool does not see `state`, so beats
   * go by message, diagnostics report process figures, and the worker's
   * final words carry an Op.Report. Set by runtime/process-entry.ts.
   */
  process?: boolean;
  /** The child's fd 4 is the control pipe (see above); set by the pool that forked it. */
  control?: boolean;
  /** Prefix for generated correlation ids. */
  corrPrefix: string;
  /** Module imported once before the task module (`workerSetup` pool option). */
  setup?: string;
  /** Post `[Op.Started, ...]` as each Run batch starts (process workers: the pool does not see their shared state). */
  startMarkers?: boolean;
  /** Beat every this many ms (absent: no heartbeat). */
  heartbeatMs?: number;
  /** The pool's `workerData`, for `sluice.init`. */
  workerData?: unknown;
  /** Where `workerData` holds Buffers (threads: see wire/values.ts). */
  workerDataBuffers?: (string | number)[][];
  /** The workerData comes as an `[Op.WorkerData, value]` message instead (process workers). */
  workerDataByMessage?: boolean;
}

// Read once: it is fixed for the life of a thread, and the getter costs
// about as much as performance.now() itself, on a path workers take per task.
const TIME_ORIGIN = performance.timeOrigin;

/** Wall-clock milliseconds with sub-millisecond precision, comparable across threads. */
export function epochNow(): number {
  return TIME_ORIGIN + performance.now();
}
