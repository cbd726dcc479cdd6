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
 *   [Op.Abort, seq, kind]  abort the task with that per-worker sequence number (kind: AbortKind)
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
 *       picks up a Run batch, before its first task runs. See
 *       worker/process.ts for why one marker per batch is enough.
 *   [Op.Results, seq0, status0, value0, seq1, status1, value1, ...]
 *       status: Status.Ok (value is the output) or Status.Error (value is an
 *       EncodedError) or Status.Unclonable (the output could not be cloned;
 *       value is an EncodedError of the clone failure)
 *
 * Per-worker shared memory (thread workers): an Int32 "last started seq", an
 * Int32 heartbeat counter (bytes 4..8, incremented by the worker's own
 * timer), a ring of Float64 start times, written by the worker as each task
 * starts, then a Float64 heap-used figure written with each beat.
 * The pool reads them to tell a task that is running from one still waiting
 * in the worker's inbox, without any message per task.
 */

/** Fields per task in a Run message: name, input, id, corr (see above). */
import type { TraceCarrier } from './diagnostics.js';

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
}

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
}

/** Slots in the start-time ring; the pool never has more than this in flight on one worker. */
export const START_RING = 256;
/** Byte offset of the Float64 heap-used figure in the shared state. */
export const HEAP_OFFSET = 8 + 8 * START_RING;
/** Bytes of the per-worker shared state: Int32 seq, Int32 beat counter, the Float64 ring, Float64 heap used. */
export const SHARED_STATE_BYTES = HEAP_OFFSET + 8;

/** The data a worker is started with. */
export interface WorkerInit {
  module: string;
  workerId: number;
  /** SharedArrayBuffer of SHARED_STATE_BYTES, or null where memory is not shared. */
  state: SharedArrayBuffer | null;
  /** Prefix for generated correlation ids. */
  corrPrefix: string;
  /** Module imported once before the task module (`workerSetup` pool option). */
  setup?: string;
  /** Post `[Op.Started, ...]` as each Run batch starts (where `state` is null: process workers). */
  startMarkers?: boolean;
  /** Beat every this many ms (absent: no heartbeat). */
  heartbeatMs?: number;
  /** The pool's `workerData`, for `sluice.init`. */
  workerData?: unknown;
  /** The workerData comes as an `[Op.WorkerData, value]` message instead (process workers). */
  workerDataByMessage?: boolean;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across threads. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
