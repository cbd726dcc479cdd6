/**
 * The `logger` option: structured logs of one pool, written by a subscriber
 * of the diagnostics channels (the engine itself never calls the logger).
 * Works with pino or anything with pino's `level(obj, msg)` methods.
 *
 * Levels: every task transition and worker start at `debug`; retries,
 * drops and task failures at `warn`; a worker that died unexpectedly, and
 * a dead-letter entry the sink could not record, at `error`. Each line carries the pool, task id, correlation id, worker id,
 * the state it entered and durations in ms.
 *
 * Two of pino's conventions hold: `pid` is pino's own field (the process
 * that logs), so a worker's pid is `workerPid`; and an error goes under
 * `err` as the Error itself, which pino's `err` serializer turns into
 * `type`, `message`, `stack`, `code` and the `cause` chain (a plain object
 * there would print as `{"type":"Object","stack":""}`).
 */
import { shown } from './shown.js';
import { subscribePool } from './subscribe.js';
import type { Logger } from '../api/options.js';

export function attachLogger(poolId: string, logger: Logger): () => void {
  return subscribePool(poolId, {
    taskQueued: (m) =>
      logger.debug({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, state: 'QUEUED', priority: m.priority, queueDepth: m.queueDepth }, 'task queued'),
    taskDispatched: (m) =>
      logger.debug({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, workerId: m.workerId, state: 'DISPATCHED', attempt: m.attempt, waitMs: m.waitMs }, 'task dispatched'),
    taskStarted: (m) =>
      logger.debug({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, workerId: m.workerId, state: 'EXECUTING', attempt: m.attempt }, 'task started'),
    taskCompleted: (m) =>
      logger.debug({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, workerId: m.workerId, state: 'COMPLETED', attempt: m.attempt, waitMs: m.waitMs, runMs: m.runMs }, 'task completed'),
    taskFailed: (m) =>
      logger.warn({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, workerId: m.workerId, state: 'FAILED', attempt: m.attempt, reason: m.reason, err: loggedError(m.error) }, 'task failed'),
    taskRetried: (m) =>
      logger.warn({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, state: 'RETRYING', attempt: m.attempt, delayMs: m.delayMs, err: loggedError(m.error) }, 'task will be retried'),
    taskDropped: (m) =>
      logger.warn({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, state: 'DROPPED', queueDepth: m.queueDepth }, 'task dropped from a full queue'),
    taskDeadLettered: (m) =>
      logger.warn({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, reason: m.reason, err: loggedError(m.error) }, 'task dead-lettered'),
    deadLetterError: (m) =>
      logger.error({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, err: loggedError(m.error) }, 'dead-letter sink failed; entry kept in memory'),
    taskProgressError: (m) =>
      logger.warn({ pool: m.pool, taskId: m.taskId, task: m.task, correlationId: m.correlationId, err: loggedError(m.error) }, 'onProgress threw; the task goes on'),
    taskRejected: (m) =>
      logger.debug({ pool: m.pool, task: m.task, correlationId: m.correlationId, state: 'REJECTED', err: loggedError(m.error) }, 'task refused'),
    workerSpawned: (m) =>
      logger.debug({ pool: m.pool, workerId: m.workerId, kind: m.kind, workerPid: m.pid }, 'worker spawned'),
    workerReady: (m) =>
      logger.debug({ pool: m.pool, workerId: m.workerId, kind: m.kind, startMs: m.startMs }, 'worker ready'),
    workerExited: (m) => {
      const fields = { pool: m.pool, workerId: m.workerId, kind: m.kind, code: m.code, signal: m.signal, reason: m.reason, completed: m.completed };
      if (m.reason === 'crash') logger.error({ ...fields, err: m.error === undefined ? undefined : loggedError(m.error) }, 'worker died');
      else logger.debug(fields, 'worker exited');
    },
    workerRecycled: (m) => logger.info({ pool: m.pool, workerId: m.workerId, why: m.why }, 'worker recycled'),
    workerStalled: (m) =>
      logger.error({ pool: m.pool, workerId: m.workerId, workerPid: m.report.pid, task: m.task, runningMs: m.runningMs, err: m.error }, 'worker stalled'),
  });
}

/**
 * What goes under `err`: the Error itself (pino serialises it), or, for a
 * thrown non-Error, an Error that says what was thrown, so every failure
 * line has a type, a message and a stack.
 */
function loggedError(e: unknown): Error {
  if (e instanceof Error) return e;
  return Object.assign(new Error(`non-Error thrown: ${typeof e === 'string' ? e : shown(e)}`), { name: 'NonError', value: e });
}
