/**
 * Every lifecycle event sluice publishes, declared in one place, on
 * `node:diagnostics_channel`, named `sluice:<subject>:<event>`.
 *
 * The engine publishes only when a channel has subscribers (each publish
 * point checks `hasSubscribers` before building its payload), so an
 * unobserved pool pays one property read per event. The logger, Prometheus
 * and OpenTelemetry adapters are nothing but subscribers of these channels.
 *
 * A task moves QUEUED → DISPATCHED → EXECUTING → COMPLETED / FAILED; the
 * `queued`, `dispatched`, `started`, `completed` and `failed` events mark
 * those transitions. Payload shapes are below and in docs/observability.md.
 */

import { channel, type Channel } from 'node:diagnostics_channel';
import type { StallReport } from '../api/errors.js';

/** W3C trace context carried with a task into its worker. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
  /** Set by `sluice/otel`: the pool's name, for the consumer span's `messaging.destination.name`. */
  destination?: string;
  /** Set by `sluice/otel`: which attempt this send is (1 first, then one more per retry), for `sluice.attempt`. */
  attempt?: number;
}

interface TaskEventBase {
  /** The pool's name (`name` option). */
  pool: string;
  /** Unique per pool instance (name plus a random suffix): tell apart two pools of the same name. */
  poolId: string;
  taskId: number;
  /** The task's name (the exported function). */
  task: string;
  correlationId: string;
}

export interface TaskQueuedEvent extends TaskEventBase {
  priority: number;
  /** Queue depth when it arrived. */
  queueDepth: number;
  /**
   * Set by a tracing subscriber, synchronously, to carry trace context into
   * the worker (this is how the OpenTelemetry adapter links the spans).
   */
  traceContext: TraceCarrier | undefined;
}

export interface TaskDispatchedEvent extends TaskEventBase {
  workerId: number;
  attempt: number;
  /** Time from submission (or from the end of the retry backoff) to dispatch. */
  waitMs: number;
}

export interface TaskStartedEvent extends TaskEventBase {
  workerId: number;
  attempt: number;
}

export interface TaskCompletedEvent extends TaskEventBase {
  workerId: number;
  attempt: number;
  waitMs: number;
  /** Running time inside the worker. */
  runMs: number;
}

export interface TaskFailedEvent extends TaskEventBase {
  /** The worker it failed on, when it reached one. */
  workerId: number | undefined;
  attempt: number;
  error: unknown;
  /** Why: `error` (thrown), `timeout`, `crash`, `aborted`, `deadline`, `dropped`, `closed`, `serialization`. */
  reason: string;
}

export interface TaskRetriedEvent extends TaskEventBase {
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface TaskDroppedEvent extends TaskEventBase {
  queueDepth: number;
}

export interface TaskDeadLetteredEvent extends TaskEventBase {
  reason: 'failed' | 'dropped' | 'deadline';
  error: unknown;
}

/** The dead-letter sink could not record an entry (a full disk, a callback that threw or rejected); the entry is kept in memory. */
export interface DeadLetterErrorEvent extends TaskEventBase {
  /** What the sink's file or callback failed with. */
  error: unknown;
}

export interface TaskRejectedEvent {
  pool: string;
  poolId: string;
  /** Present when the task was refused after it was queued (unknown name found at dispatch, an input that cannot be cloned). */
  taskId: number | undefined;
  task: string;
  correlationId: string | undefined;
  error: unknown;
}

/** An `onProgress` callback threw: the task goes on, the error is published here. */
export interface TaskProgressErrorEvent {
  pool: string;
  poolId: string;
  taskId: number;
  task: string;
  correlationId: string;
  error: unknown;
}

export interface WorkerEventBase {
  pool: string;
  poolId: string;
  workerId: number;
  kind: 'thread' | 'process' | 'async';
}

export interface WorkerSpawnedEvent extends WorkerEventBase {
  /** Process workers: the child's pid. */
  pid: number | undefined;
}

export interface WorkerReadyEvent extends WorkerEventBase {
  startMs: number;
}

export interface WorkerExitedEvent extends WorkerEventBase {
  code: number | null;
  signal: string | null;
  /** `crash` (unexpected), or why the pool stopped it: `timeout`, `abort`, `retire`, `close`, `recycle`, `stalled`. */
  reason: string;
  error: unknown;
  /** Tasks it completed over its life. */
  completed: number;
}

export interface WorkerRecycledEvent extends WorkerEventBase {
  /** `max-tasks`, `max-age`, `max-heap`, `max-rss`, `quarantine`, `unhealthy`. */
  why: string;
}

export interface WorkerStalledEvent extends WorkerEventBase {
  task: string | undefined;
  runningMs: number | undefined;
  /** What could be captured before the kill (docs/supervision.md). */
  report: StallReport;
  /** The WorkerStalledError its task rejects with. */
  error: Error;
}

function ch<T>(name: string): Channel & { publish(message: T): void } {
  return channel(name);
}

export const channels = {
  taskQueued: ch<TaskQueuedEvent>('sluice:task:queued'),
  taskDispatched: ch<TaskDispatchedEvent>('sluice:task:dispatched'),
  taskStarted: ch<TaskStartedEvent>('sluice:task:started'),
  taskCompleted: ch<TaskCompletedEvent>('sluice:task:completed'),
  taskFailed: ch<TaskFailedEvent>('sluice:task:failed'),
  taskRetried: ch<TaskRetriedEvent>('sluice:task:retried'),
  taskDropped: ch<TaskDroppedEvent>('sluice:task:dropped'),
  taskDeadLettered: ch<TaskDeadLetteredEvent>('sluice:task:dead-lettered'),
  taskRejected: ch<TaskRejectedEvent>('sluice:task:rejected'),
  deadLetterError: ch<DeadLetterErrorEvent>('sluice:deadletter:error'),
  taskProgressError: ch<TaskProgressErrorEvent>('sluice:task:progress-error'),
  workerSpawned: ch<WorkerSpawnedEvent>('sluice:worker:spawned'),
  workerReady: ch<WorkerReadyEvent>('sluice:worker:ready'),
  workerExited: ch<WorkerExitedEvent>('sluice:worker:exited'),
  workerRecycled: ch<WorkerRecycledEvent>('sluice:worker:recycled'),
  workerStalled: ch<WorkerStalledEvent>('sluice:worker:stalled'),
} as const;

/** Every channel name, for documentation and for subscribers that want them all. */
export const CHANNEL_NAMES = Object.values(channels).map((c) => c.name as string);

/** The payload published on `channels[K]`. */
export type ChannelEvent<K extends keyof typeof channels> = (typeof channels)[K] extends { publish(message: infer T): void } ? T : never;
