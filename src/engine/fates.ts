/**
 * A worker exited: each task it held gets its own, truthful fate
 * (docs/ARCHITECTURE.md, "A task's fate is its own"):
 *
 * - finished (the worker's shared finish marker says so) but its result
 *   never arrived: `ResultLostError`, retried only if its policy asks;
 * - never started: back to the head of the queue, in send order, with its
 *   attempt count (unless its transfer list moved its buffers into the dead
 *   worker: it cannot be sent again);
 * - running when the worker died: the crash (or the stall, or the close) is
 *   its fate.
 *
 * Orphans (settled already: aborted, timed out) only release their place.
 * Then the worker's exit is supervision's business (supervised.ts), and the
 * pool replaces it or, if it never started, may fail.
 */

import { ModuleLoadError, PoolClosedError, ResultLostError, WorkerCrashedError } from '../api/errors.js';
import type { ExitInfo, WorkerHandle } from '../worker/handle.js';
import type { Scheduler } from './scheduler.js';
import { Outcome, TaskState, type Task } from './task.js';
import { INFLIGHT_MASK, SlotState, type WorkerSlot } from './worker-slot.js';

/** Consecutive worker start failures (after the pool once started, without restart intensity) that fail the pool instead of respawning. */
const MAX_START_FAILURES = 3;

export function workerExited(engine: Scheduler, handle: WorkerHandle, info: ExitInfo): void {
  const slot = engine.workers.byId.get(handle.id);
  if (slot === undefined) return;
  engine.workers.remove(slot);
  slot.state = SlotState.Stopping; // gone: a stale entry on the idle stack must not be picked
  if (slot.idleTimer !== undefined) engine.timers.cancel(slot.idleTimer);
  if (slot.startTimer !== undefined) engine.timers.cancel(slot.startTimer);
  const wasReady = slot.names !== undefined;
  const deliberate = slot.killedFor !== undefined;
  engine.ev.workerExited(slot, info);

  // In-flight tasks, in the order they were sent.
  const seqs: number[] = [];
  for (let idx = 0; idx < slot.inflight.length; idx++) if (slot.inflight[idx] !== undefined) seqs.push(slot.seqOf(idx));
  seqs.sort((a, b) => a - b);
  const inflight = slot.inflight.slice();
  slot.inflight.fill(undefined);
  slot.inflightCount = 0;
  const toRequeue: Task[] = [];
  const canRequeue = engine.state !== 'failed' && engine.state !== 'closed';
  for (const seq of seqs) {
    const task = inflight[seq & INFLIGHT_MASK] as Task;
    engine.limits.answered(slot, seq);
    if (task.state !== TaskState.Dispatched || task.slot !== slot || task.seq !== seq) continue; // an orphan
    if (handle.finished?.(seq) === true) {
      engine.retries.failed(task, engine.state === 'failed' && engine.failure !== undefined ? engine.failure : new ResultLostError(handle.id, task.name, lostWhy(slot, info)));
    } else if (handle.startedAt(seq) === undefined && task.transfer === undefined && canRequeue) {
      toRequeue.push(task);
    } else {
      engine.retries.failed(task, crashError(engine, slot, info, task.name));
    }
  }
  // Back to the head of the queue in send order: first what was assigned but never sent, then in front of it what was sent.
  engine.requeueOutbox(slot);
  // One that pause or clear had asked back is theirs to place (a clear rejects it).
  for (let k = toRequeue.length - 1; k >= 0; k--) {
    const t = toRequeue[k] as Task;
    if (!engine.controls.revoked(t)) engine.requeue(t);
  }
  engine.controls.exited(slot);
  engine.supervised.exited(slot, info);

  const life = engine.life;
  if (!wasReady && !deliberate && engine.state !== 'failed' && !(life.everReady && engine.supervised.intensity !== undefined)) {
    life.startFailures++;
    if (!life.everReady || life.startFailures >= MAX_START_FAILURES) {
      const cause = info.error ?? new Error(`worker exited with code ${String(info.code)} before it was ready`);
      engine.shutdown.fail(new ModuleLoadError(engine.options.moduleUrl, cause));
    }
  }
  if (engine.state === 'failed' || engine.state === 'closed') {
    for (const t of engine.backlog.queue.drain()) engine.settle(t, engine.failure ?? new PoolClosedError(), undefined, Outcome.Rejected);
  } else {
    life.replenish();
    engine.pump();
  }
  engine.shutdown.checkDrained();
}

/** Why the pool stopped a worker for one of its tasks, or undefined when it did not. */
function stoppedBecause(slot: WorkerSlot): string | undefined {
  switch (slot.killedFor) {
    case 'timeout':
      return 'another task on it ran past its time limit';
    case 'abort':
      return 'a cancelled task on it did not stop within abortGraceMs';
    default:
      return undefined;
  }
}

/** Why a finished task's result never arrived, for ResultLostError. */
function lostWhy(slot: WorkerSlot, info: ExitInfo): string {
  const because = stoppedBecause(slot);
  if (because !== undefined) return `its worker was stopped because ${because}`;
  switch (slot.killedFor) {
    case 'stalled':
      return 'its worker was stopped because another task blocked its event loop (stalled)';
    default:
      if (info.oom) return 'the worker ran out of memory before sending it';
      if (info.signal !== null) return `the worker was killed by ${info.signal} before sending it`;
      return `the worker exited with code ${String(info.code)} before sending it`;
  }
}

/** The error of a task that was running (or, with a transfer list, sent) when its worker went. */
function crashError(engine: Scheduler, slot: WorkerSlot, info: ExitInfo, taskName: string): Error {
  if (slot.stallError !== undefined) return slot.stallError;
  if (engine.state === 'failed' && engine.failure !== undefined) return engine.failure;
  if (slot.killedFor === 'close') return new PoolClosedError('pool was terminated before the task finished');
  // The task that would not stop already has its own error (TaskTimeoutError, TaskAbortedError):
  // a task still running here ran beside it, and the error says so rather than blame it.
  const because = stoppedBecause(slot);
  if (because !== undefined) return new WorkerCrashedError({ workerId: slot.handle.id, taskName, exitCode: info.code, signal: info.signal, reason: 'stopped', stoppedBecause: because }, info.error);
  return new WorkerCrashedError(
    {
      workerId: slot.handle.id,
      taskName,
      exitCode: info.code,
      signal: info.signal,
      reason: info.oom ? 'oom' : info.signal !== null ? 'signal' : info.error !== undefined ? 'error' : 'exit',
    },
    info.error,
  );
}
