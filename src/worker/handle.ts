/**
 * The interface every kind of worker implements. The scheduler talks only to
 * this, so threads, processes and in-process tasks share one engine.
 */

import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Transferable } from '../api/types.js';
import type { EncodedError } from '../wire/error-codec.js';
import type { DiagnoseResult } from '../observability/worker-diagnostics.js';

export interface ExitInfo {
  /** Exit code, when the worker exited. */
  code: number | null;
  /** Signal that killed it (process workers). */
  signal: string | null;
  /** An uncaught error reported before the exit, if any. */
  error: unknown;
  /** The worker hit its heap limit. */
  oom: boolean;
  /** The worker ended itself (process.exit, an uncaught exception) while running no task: no task caused it. */
  idle?: boolean;
}

/** Why the pool stops a worker; an in-process worker, which cannot be killed, acts on it. */
export type StopReason = 'timeout' | 'abort' | 'retire' | 'close' | 'recycle' | 'stalled' | 'quarantine' | 'unhealthy' | 'init';

export interface WorkerEvents {
  /** `hookFlags`: HookFlag bits, the lifecycle hooks the module exports. */
  ready(handle: WorkerHandle, taskNames: string[], hookFlags?: number): void;
  /** `phase` 'init': the module loaded but its `sluice.init` threw. */
  initError(handle: WorkerHandle, error: EncodedError, phase?: string): void;
  /** The answer to an `[Op.Health]` request. */
  health?(handle: WorkerHandle, ok: boolean, detail: string | undefined): void;
  /** A `[Op.Results, ...]` message. */
  results(handle: WorkerHandle, message: unknown[]): void;
  /** Tasks `first`..`last` (per-worker sequence numbers) have started (only where the worker reports it). */
  started(handle: WorkerHandle, first: number, last: number): void;
  /** A `[Op.Progress, seq, value, ...]` message: tasks' latest `ctx.progress()` values. */
  progress?(handle: WorkerHandle, message: unknown[]): void;
  /** `[Op.IoBound, 0 | 1]`: whether the worker's async tasks mostly wait rather than compute (the auto pipeline's cue to run several at once). */
  ioBound?(handle: WorkerHandle, waiting: boolean): void;
  /** The answer to `[Op.Sync, requestId]`: every message sent before it was handled. */
  synced?(handle: WorkerHandle, requestId: number): void;
  /** Called exactly once, whatever the cause. */
  exit(handle: WorkerHandle, info: ExitInfo): void;
}

/** Creates a worker for a pool slot (src/worker/spawn.ts picks the implementation by kind; tests pass scripted ones). */
export type SpawnWorker = (id: number, events: WorkerEvents) => WorkerHandle;

/**
 * What every kind of worker offers the pool. Members a kind cannot offer
 * are optional, so callers test for them instead of casting to a kind.
 */
export interface WorkerHandle {
  readonly id: number;
  /** The OS process id, where the worker is a process of its own. */
  readonly pid?: number | undefined;
  /** The worker's report on itself (heap, event-loop utilization, CPU), plus what the parent reads without it (ELU of a thread, /proc of a process). */
  diagnose(): Promise<DiagnoseResult>;
  /** Posts a message; throws synchronously when it cannot be cloned. */
  send(message: unknown[], transfer?: readonly Transferable[]): void;
  /**
   * When the task with this per-worker sequence number started, in epoch
   * milliseconds (`performance.timeOrigin + performance.now()` as the worker
   * read it); `undefined` while it is still waiting in the worker's inbox.
   * The engine subtracts it from one clock reading per result batch, not one
   * per task.
   */
  startedAt(seq: number): number | undefined;
  /**
   * Whether the task with this sequence number returned inside the worker:
   * its result is on its way, or was lost if the worker died before sending
   * it. Threads read it from shared memory; processes from the worker's
   * reports (its final words before an exit, or a probe). Kinds that cannot
   * tell leave it out.
   */
  finished?(seq: number): boolean;
  /**
   * Asks the worker for exact per-task starts and finishes, even while its
   * main thread is stuck (processes: the watchdog thread answers). Settles
   * within a bounded time whether or not anyone answers; afterwards
   * `startedAt` and `finished` reflect what was learnt.
   */
  probe?(): Promise<void>;
  /**
   * In-process workers: runs a Run batch synchronously, inside the caller's
   * call, instead of on the next microtask. The pool uses it to start a task
   * at submission on a worker with nothing in flight.
   */
  runNow?(message: unknown[]): void;
  /**
   * The worker said it is ending itself (process.exit, an uncaught
   * exception: Op.Leaving, sent after its last results): its exit is on the
   * way, and decides the fate of every task still on it.
   */
  leaving?(): boolean;
  /** Kills the worker now (an in-process worker aborts its tasks instead). `exit` follows. Idempotent. */
  terminate(why?: StopReason): void;
  /** Heartbeats received so far (workers started with a heartbeat). */
  beats?(): number;
  /** Heap used at the last beat, in bytes. */
  heapUsed?(): number | undefined;
  /** Resident set size at the last beat (process workers), in bytes. */
  rss?(): number | undefined;
  /** Asks the worker to run its teardown and exit; kills it after `graceMs`. `exit` follows. */
  stop?(graceMs: number): void;
  /** Keeps (true) or stops (false) the worker from holding this process's event loop open. */
  ref?(on: boolean): void;
  /** The worker's event-loop utilization, read from the pool's side (threads: readable even while the worker is stuck). */
  eventLoopUtilization?(a?: EventLoopUtilization, b?: EventLoopUtilization): EventLoopUtilization;
  /** Sends an OS signal (processes; SIGUSR2 asks for a diagnostic report where the child was started with --report-on-signal). */
  signal?(sig: NodeJS.Signals): void;
}
