/**
 * The interface every kind of worker implements. The scheduler talks only to
 * this, so threads, processes and in-process tasks share one engine.
 */

import type { Transferable } from '../types.js';
import type { EncodedError } from '../error-codec.js';
import type { ProcStatus, WorkerSelfReport } from '../worker-diagnostics.js';

export interface ExitInfo {
  /** Exit code, when the worker exited. */
  code: number | null;
  /** Signal that killed it (process workers). */
  signal: string | null;
  /** An uncaught error reported before the exit, if any. */
  error: unknown;
  /** The worker hit its heap limit. */
  oom: boolean;
}

/** Why the pool stops a worker; an in-process worker, which cannot be killed, acts on it. */
export type StopReason = 'timeout' | 'abort' | 'retire' | 'close';

export interface WorkerEvents {
  ready(handle: WorkerHandle, taskNames: string[]): void;
  initError(handle: WorkerHandle, error: EncodedError): void;
  /** A `[Op.Results, ...]` message. */
  results(handle: WorkerHandle, message: unknown[]): void;
  /** Tasks `first`..`last` (per-worker sequence numbers) have started (only where the worker reports it). */
  started(handle: WorkerHandle, first: number, last: number): void;
  /** Called exactly once, whatever the cause. */
  exit(handle: WorkerHandle, info: ExitInfo): void;
}

export interface WorkerHandle {
  readonly id: number;
  /** The worker's report on itself (heap, event-loop utilization, CPU), plus /proc figures for processes. */
  diagnose(): Promise<{ self: WorkerSelfReport | undefined; pid: number | undefined; proc: ProcStatus | undefined }>;
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
  /** Kills the worker now (an in-process worker aborts its tasks instead). `exit` follows. Idempotent. */
  terminate(why?: StopReason): void;
}
