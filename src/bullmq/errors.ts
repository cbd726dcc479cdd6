/**
 * Errors of the BullMQ integration, and the error codec used over Redis.
 *
 * Errors cross Redis the way they cross the worker boundary (encodeError /
 * decodeError), with one addition: sluice's own classes are known here, so a
 * TaskTimeoutError raised by a pool on another machine arrives as a
 * TaskTimeoutError, with its code and fields, exactly as from a local pool.
 */

import { decodeError, encodeError, type EncodedError } from '../error-codec.js';
import {
  DeadlineExceededError,
  InvalidOptionError,
  ModuleLoadError,
  PoolClosedError,
  QueueFullError,
  QueueTimeoutError,
  SerializationError,
  SluiceError,
  TaskAbortedError,
  TaskDroppedError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownTaskError,
  WorkerCrashedError,
  type ErrorCode,
} from '../errors.js';

/** Codes of the errors this integration adds (outside the core's `ErrorCodes`). */
export const BullmqErrorCodes = {
  REDIS_UNAVAILABLE: 'ERR_SLUICE_REDIS_UNAVAILABLE',
  JOB_LOST: 'ERR_SLUICE_JOB_LOST',
} as const;

/** Redis could not be reached: the submit was not recorded and can be tried again. */
export class RedisUnavailableError extends SluiceError {
  readonly queue: string;
  constructor(queue: string, operation: string, cause: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    super(BullmqErrorCodes.REDIS_UNAVAILABLE as unknown as ErrorCode, `cannot ${operation} on queue "${queue}": Redis is unavailable${detail}`, { cause });
    this.queue = queue;
  }
}

/** The job a handle waits for no longer exists in Redis (removed, or Redis lost its data). */
export class JobLostError extends SluiceError {
  readonly queue: string;
  readonly jobId: string;
  constructor(queue: string, jobId: string) {
    super(BullmqErrorCodes.JOB_LOST as unknown as ErrorCode, `job ${jobId} of queue "${queue}" no longer exists in Redis (removed, or Redis lost its data); its outcome is unknown`);
    this.queue = queue;
    this.jobId = jobId;
  }
}

const SLUICE_CLASSES: Record<string, abstract new (...args: never[]) => Error> = {
  QueueFullError,
  QueueTimeoutError,
  TaskTimeoutError,
  TaskAbortedError,
  DeadlineExceededError,
  WorkerCrashedError,
  PoolClosedError,
  UnknownTaskError,
  SerializationError,
  InvalidOptionError,
  ModuleLoadError,
  TaskFailedError,
  TaskDroppedError,
  RedisUnavailableError,
  JobLostError,
};

const kBrand = Symbol.for('sluice.error');

export function encodeWireError(err: unknown): EncodedError {
  return encodeError(err);
}

/**
 * Rebuilds an error encoded by `encodeWireError` on another machine. Sluice's
 * classes are rebuilt as themselves (brand included, so `instanceof
 * SluiceError` holds); user classes as registered with `registerError`.
 */
export function decodeWireError(enc: EncodedError, taskName: string): Error {
  const err = decodeError(enc, taskName);
  brandTree(err, enc, 0);
  return err;
}

function brandTree(err: unknown, enc: EncodedError | undefined, depth: number): void {
  if (enc === undefined || depth > 8 || typeof err !== 'object' || err === null) return;
  const cls = SLUICE_CLASSES[enc.name];
  if (cls !== undefined && !(err instanceof cls)) Object.setPrototypeOf(err, cls.prototype as object);
  if (cls !== undefined || (typeof enc.props?.code === 'string' && enc.props.code.startsWith('ERR_SLUICE_'))) {
    Object.defineProperty(err, kBrand, { value: true });
  }
  if (enc.hasCause) brandTree((err as { cause?: unknown }).cause, enc.cause, depth + 1);
}
