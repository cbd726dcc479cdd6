/**
 * The engine's one event publisher, bound to its pool: every lifecycle
 * event goes out on its `diagnostics_channel` (declared in
 * src/observability/diagnostics.ts) from here, with the pool's name and id
 * filled in. Each method checks `hasSubscribers` first, so an unobserved
 * pool builds no payload at all; the scheduler calls them on its hot path.
 */

import { channels, type TaskQueuedEvent, type TraceCarrier } from '../observability/diagnostics.js';
import { failureReason } from '../observability/failure.js';
import type { StallReport } from '../api/errors.js';
import type { ExitInfo, StopReason } from '../worker/handle.js';
import type { RecycleWhy } from '../supervision/recycle.js';
import type { DeadLetter } from '../dead-letter/sinks.js';
import { TaskState, type Task } from './task.js';
import { INFLIGHT_MASK, type WorkerSlot } from './worker-slot.js';

type Kind = 'thread' | 'process' | 'async';

export class PoolEvents {
  readonly #pool: string;
  readonly poolId: string;
  readonly #kind: Kind;
  /** Prefix of generated correlation ids: `<name>-<random>-`. */
  readonly #corrPrefix: string;

  constructor(pool: string, corrPrefix: string, kind: Kind) {
    this.#pool = pool;
    this.#corrPrefix = corrPrefix;
    this.poolId = corrPrefix.slice(0, -1);
    this.#kind = kind;
  }

  /** A task's correlation id: its own, or one made from the pool's prefix and the task id. */
  corrOf(task: Task): string {
    return task.correlation ?? `${this.#corrPrefix}${task.id}`;
  }

  /** Published at submission; a tracing subscriber may attach the submitter's trace context, which is returned. */
  taskQueued(task: Task, queueDepth: number): TraceCarrier | null {
    const ev: TaskQueuedEvent = { pool: this.#pool, poolId: this.poolId, taskId: task.id, task: task.name, correlationId: this.corrOf(task), priority: task.priority, queueDepth, traceContext: task.meta ?? undefined };
    channels.taskQueued.publish(ev);
    return ev.traceContext ?? null;
  }

  taskDispatched(task: Task, workerId: number, waitMs: number): void {
    if (!channels.taskDispatched.hasSubscribers) return;
    channels.taskDispatched.publish({ pool: this.#pool, poolId: this.poolId, taskId: task.id, task: task.name, correlationId: this.corrOf(task), workerId, attempt: task.attempt, waitMs });
  }

  /** The worker reported tasks first..last (its sequence numbers) started; only sent while someone subscribes. */
  tasksStarted(slot: WorkerSlot, first: number, last: number): void {
    if (!channels.taskStarted.hasSubscribers) return;
    const workerId = slot.handle.id;
    for (let seq = first; seq <= last; seq++) {
      const task = slot.inflight[seq & INFLIGHT_MASK];
      if (task === undefined || task.seq !== seq || task.state !== TaskState.Dispatched) continue;
      channels.taskStarted.publish({ pool: this.#pool, poolId: this.poolId, taskId: task.id, task: task.name, correlationId: this.corrOf(task), workerId, attempt: task.attempt });
    }
  }

  taskCompleted(task: Task, runMs: number): void {
    if (!channels.taskCompleted.hasSubscribers) return;
    channels.taskCompleted.publish({ pool: this.#pool, poolId: this.poolId, taskId: task.id, task: task.name, correlationId: this.corrOf(task), workerId: task.slot?.handle.id ?? 0, attempt: task.attempt, waitMs: waitOf(task), runMs });
  }

  taskFailed(task: Task, correlationId: string, error: unknown): void {
    if (!channels.taskFailed.hasSubscribers) return;
    channels.taskFailed.publish({ pool: this.#pool, poolId: this.poolId, taskId: task.id, task: task.name, correlationId, workerId: task.slot?.handle.id, attempt: task.attempt, error, reason: failureReason(error) });
  }

  /** A refusal: `task` undefined when the call was refused before a task existed. */
  taskRejected(taskId: number | undefined, name: string, correlationId: string | undefined, error: unknown): void {
    if (!channels.taskRejected.hasSubscribers) return;
    channels.taskRejected.publish({ pool: this.#pool, poolId: this.poolId, taskId, task: name, correlationId, error });
  }

  progressError(task: Task, error: unknown): void {
    if (!channels.taskProgressError.hasSubscribers) return;
    channels.taskProgressError.publish({ pool: this.#pool, poolId: this.poolId, taskId: task.id, task: task.name, correlationId: this.corrOf(task), error });
  }

  taskRetried(task: Task, delayMs: number, error: unknown): void {
    if (!channels.taskRetried.hasSubscribers) return;
    channels.taskRetried.publish({ pool: this.#pool, poolId: this.poolId, taskId: task.id, task: task.name, correlationId: this.corrOf(task), attempt: task.attempt, delayMs, error });
  }

  taskDropped(task: Task, queueDepth: number): void {
    if (!channels.taskDropped.hasSubscribers) return;
    channels.taskDropped.publish({ pool: this.#pool, poolId: this.poolId, taskId: task.id, task: task.name, correlationId: this.corrOf(task), queueDepth });
  }

  taskDeadLettered(task: Task, reason: DeadLetter['reason'], error: unknown): void {
    if (!channels.taskDeadLettered.hasSubscribers) return;
    channels.taskDeadLettered.publish({ pool: this.#pool, poolId: this.poolId, taskId: task.id, task: task.name, correlationId: this.corrOf(task), reason, error });
  }

  deadLetterError(entry: DeadLetter, error: unknown): void {
    if (!channels.deadLetterError.hasSubscribers) return;
    channels.deadLetterError.publish({ pool: this.#pool, poolId: this.poolId, taskId: entry.taskId, task: entry.taskName, correlationId: entry.correlationId, error });
  }

  workerSpawned(workerId: number, pid: number | undefined): void {
    if (!channels.workerSpawned.hasSubscribers) return;
    channels.workerSpawned.publish({ pool: this.#pool, poolId: this.poolId, workerId, kind: this.#kind, pid });
  }

  workerReady(workerId: number, startMs: number): void {
    if (!channels.workerReady.hasSubscribers) return;
    channels.workerReady.publish({ pool: this.#pool, poolId: this.poolId, workerId, kind: this.#kind, startMs });
  }

  workerExited(slot: WorkerSlot, info: ExitInfo): void {
    if (!channels.workerExited.hasSubscribers) return;
    const reason: StopReason | 'crash' = slot.killedFor ?? 'crash';
    channels.workerExited.publish({ pool: this.#pool, poolId: this.poolId, workerId: slot.handle.id, kind: this.#kind, code: info.code, signal: info.signal, reason, error: info.error, completed: slot.completed });
  }

  workerRecycled(workerId: number, why: RecycleWhy): void {
    if (!channels.workerRecycled.hasSubscribers) return;
    channels.workerRecycled.publish({ pool: this.#pool, poolId: this.poolId, workerId, kind: this.#kind, why });
  }

  workerStalled(workerId: number, task: Task | undefined, report: StallReport, error: Error): void {
    if (!channels.workerStalled.hasSubscribers) return;
    channels.workerStalled.publish({ pool: this.#pool, poolId: this.poolId, workerId, kind: this.#kind, task: task?.name, runningMs: report.runningMs, report, error });
  }
}

/** Time from ready to dispatch of the task's last attempt (dispatch times live on the slot, by seq). */
export function waitOf(task: Task): number {
  const slot = task.slot;
  return slot === undefined || task.seq === 0 ? 0 : (slot.sentAt[task.seq & INFLIGHT_MASK] as number) - task.readyAt;
}
