/**
 * Errors of the BullMQ integration, and the error codec used over Redis.
 *
 * Errors cross Redis the way they cross the worker boundary (encodeError /
 * decodeError, which know sluice's own classes), so a TaskTimeoutError raised
 * by a pool on another machine arrives as a TaskTimeoutError, with its code
 * and fields, exactly as from a local pool.
 */

import { decodeError, encodeError, registerError, type EncodedError } from '../wire/error-codec.js';
import { ErrorCodes, SluiceError } from '../api/errors.js';

/** Codes of the errors this integration adds (also in the core's `ErrorCodes`). */
export const BullmqErrorCodes = {
  REDIS_UNAVAILABLE: ErrorCodes.REDIS_UNAVAILABLE,
  JOB_LOST: ErrorCodes.JOB_LOST,
} as const;

/** Redis could not be reached: the submit was not recorded and can be tried again. */
export class RedisUnavailableError extends SluiceError {
  readonly queue: string;
  constructor(queue: string, operation: string, cause: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    super(ErrorCodes.REDIS_UNAVAILABLE, `cannot ${operation} on queue "${queue}": Redis is unavailable${detail}`, { cause });
    this.queue = queue;
  }
}

/** The job a handle waits for no longer exists in Redis (removed, or Redis lost its data). */
export class JobLostError extends SluiceError {
  readonly queue: string;
  readonly jobId: string;
  constructor(queue: string, jobId: string) {
    super(ErrorCodes.JOB_LOST, `job ${jobId} of queue "${queue}" no longer exists in Redis (removed, or Redis lost its data); its outcome is unknown`);
    this.queue = queue;
    this.jobId = jobId;
  }
}

registerError(RedisUnavailableError);
registerError(JobLostError);

export function encodeWireError(err: unknown): EncodedError {
  return encodeError(err);
}

/** Rebuilds an error encoded by `encodeWireError` on another machine, as its own class where sluice or `registerError` knows it. */
export function decodeWireError(enc: EncodedError, taskName: string): Error {
  return decodeError(enc, taskName);
}
