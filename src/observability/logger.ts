/**
 * The `logger` option: structured logs of one pool, written by a subscriber
 * of the diagnostics channels (the engine itself never calls the logger).
 * Works with pino or anything with pino's `level(obj, msg)` methods.
 *
 * Levels: every task transition and worker start at `debug`; retries,
 * drops and task failures at `warn`; a worker that died unexpectedly, and
 * a dead-letter entry the sink could not record, at `error`. Each line carries the pool, task id, correlation id, worker id,
 * the state it entered and durations in ms.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { channels } from './diagnostics.js';
import type { Logger } from '../api/options.js';

type Entry = [name: string, listener: (message: unknown) => void];

export function attachLogger(poolId: string, logger: Logger): () => void {
  const mine = (m: unknown): m is { poolId: string } => (m as { poolId?: string }).poolId === poolId;
  const on = <T>(ch: { name: string | symbol }, fn: (m: T) => void): Entry => [ch.name as string, (m) => mine(m) && fn(m as T)];
  const errorFields = (e: unknown) =>
    e instanceof Error ? { name: e.name, code: (e as { code?: unknown }).code, message: e.message } : { message: String(e) };

  const entries: Entry[] = [
    on(channels.taskQueued, (m: import('./diagnostics.js').TaskQueuedEvent) =>
      logger.debug({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, state: 'QUEUED', priority: m.priority, queueDepth: m.queueDepth }, 'task queued'),
    ),
    on(channels.taskDispatched, (m: import('./diagnostics.js').TaskDispatchedEvent) =>
      logger.debug({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, workerId: m.workerId, state: 'DISPATCHED', attempt: m.attempt, waitMs: m.waitMs }, 'task dispatched'),
    ),
    on(channels.taskStarted, (m: import('./diagnostics.js').TaskStartedEvent) =>
      logger.debug({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, workerId: m.workerId, state: 'EXECUTING', attempt: m.attempt }, 'task started'),
    ),
    on(channels.taskCompleted, (m: import('./diagnostics.js').TaskCompletedEvent) =>
      logger.debug({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, workerId: m.workerId, state: 'COMPLETED', attempt: m.attempt, waitMs: m.waitMs, runMs: m.runMs }, 'task completed'),
    ),
    on(channels.taskFailed, (m: import('./diagnostics.js').TaskFailedEvent) =>
      logger.warn({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, workerId: m.workerId, state: 'FAILED', attempt: m.attempt, reason: m.reason, err: errorFields(m.error) }, 'task failed'),
    ),
    on(channels.taskRetried, (m: import('./diagnostics.js').TaskRetriedEvent) =>
      logger.warn({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, state: 'RETRYING', attempt: m.attempt, delayMs: m.delayMs, err: errorFields(m.error) }, 'task will be retried'),
    ),
    on(channels.taskDropped, (m: import('./diagnostics.js').TaskDroppedEvent) =>
      logger.warn({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, state: 'DROPPED', queueDepth: m.queueDepth }, 'task dropped from a full queue'),
    ),
    on(channels.taskDeadLettered, (m: import('./diagnostics.js').TaskDeadLetteredEvent) =>
      logger.warn({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, reason: m.reason }, 'task dead-lettered'),
    ),
    on(channels.deadLetterError, (m: import('./diagnostics.js').DeadLetterErrorEvent) =>
      logger.error({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, err: errorFields(m.error) }, 'dead-letter sink failed; entry kept in memory'),
    ),
    on(channels.taskRejected, (m: import('./diagnostics.js').TaskRejectedEvent) =>
      logger.debug({ pool: m.pool, task: m.task, correlationId: m.correlationId, state: 'REJECTED', err: errorFields(m.error) }, 'task refused'),
    ),
    on(channels.workerSpawned, (m: import('./diagnostics.js').WorkerSpawnedEvent) =>
      logger.debug({ pool: m.pool, workerId: m.workerId, kind: m.kind, pid: m.pid }, 'worker spawned'),
    ),
    on(channels.workerReady, (m: import('./diagnostics.js').WorkerReadyEvent) =>
      logger.debug({ pool: m.pool, workerId: m.workerId, kind: m.kind, startMs: m.startMs }, 'worker ready'),
    ),
    on(channels.workerExited, (m: import('./diagnostics.js').WorkerExitedEvent) => {
      const fields = { pool: m.pool, workerId: m.workerId, kind: m.kind, code: m.code, signal: m.signal, reason: m.reason, completed: m.completed };
      if (m.reason === 'crash') logger.error({ ...fields, err: m.error === undefined ? undefined : errorFields(m.error) }, 'worker died');
      else logger.debug(fields, 'worker exited');
    }),
    on(channels.workerRecycled, (m: import('./diagnostics.js').WorkerRecycledEvent) => logger.info({ pool: m.pool, workerId: m.workerId, why: m.why }, 'worker recycled')),
    on(channels.workerStalled, (m: import('./diagnostics.js').WorkerStalledEvent) =>
      logger.error({ pool: m.pool, workerId: m.workerId, task: m.task, runningMs: m.runningMs }, 'worker stalled'),
    ),
  ];
  for (const [name, fn] of entries) subscribe(name, fn);
  return () => {
    for (const [name, fn] of entries) unsubscribe(name, fn);
  };
}
