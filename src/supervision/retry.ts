/**
 * Retry policy: which failures are retried, and how long to wait before the
 * next attempt. Pure functions of the policy, the attempt number and a random
 * source, so the schedule is tested without a clock.
 */

import { DeadlineExceededError, ErrorCodes, InvalidOptionError, SluiceError } from '../api/errors.js';
import { duration, oneOf, plainObject, positiveInt } from '../config/validate-helpers.js';

export interface RetryOptions {
  /** Tries in all, the first included. `1` means no retry. @default 1 */
  attempts?: number;
  /** @default 'exponential' */
  backoff?: 'exponential' | 'fixed';
  /** First delay (exponential) or every delay (fixed), in ms. @default 100 */
  baseMs?: number;
  /** Cap on any delay, in ms. @default 30_000 */
  maxMs?: number;
  /** `'full'`: each delay is uniform in [0, computed delay] (spreads retries of many tasks apart). @default 'full' */
  jitter?: 'full' | 'none';
  /**
   * Decides whether a failure is retried. Without it, errors the task threw
   * are retried and the pool's own verdicts (timeout, worker crash,
   * serialization, unknown task) are not. It is never asked about a cancelled
   * task or a missed deadline: those are never retried.
   */
  retryOn?: (error: unknown, attempt: number) => boolean;
  /** Random source in [0, 1) for jitter; tests pass a fixed one. @default Math.random */
  random?: () => number;
}

export interface RetryPolicy {
  attempts: number;
  backoff: 'exponential' | 'fixed';
  baseMs: number;
  maxMs: number;
  jitter: 'full' | 'none';
  retryOn: ((error: unknown, attempt: number) => boolean) | undefined;
  random: () => number;
}

export const NO_RETRY: RetryPolicy = Object.freeze({ attempts: 1, backoff: 'exponential', baseMs: 100, maxMs: 30_000, jitter: 'full', retryOn: undefined, random: Math.random });

export function resolveRetry(option: string, value: unknown, base: RetryPolicy = NO_RETRY): RetryPolicy {
  if (value === undefined) return base;
  const r = plainObject(option, value);
  if (r.retryOn !== undefined && typeof r.retryOn !== 'function') throw new InvalidOptionError(`${option}.retryOn`, 'a function (error, attempt) => boolean', r.retryOn);
  if (r.random !== undefined && typeof r.random !== 'function') throw new InvalidOptionError(`${option}.random`, 'a function returning a number in [0, 1)', r.random);
  return {
    attempts: r.attempts === undefined ? base.attempts : positiveInt(`${option}.attempts`, r.attempts),
    backoff: r.backoff === undefined ? base.backoff : oneOf(`${option}.backoff`, r.backoff, ['exponential', 'fixed'] as const),
    baseMs: r.baseMs === undefined ? base.baseMs : duration(`${option}.baseMs`, r.baseMs),
    maxMs: r.maxMs === undefined ? base.maxMs : duration(`${option}.maxMs`, r.maxMs),
    jitter: r.jitter === undefined ? base.jitter : oneOf(`${option}.jitter`, r.jitter, ['full', 'none'] as const),
    retryOn: r.retryOn === undefined ? base.retryOn : (r.retryOn as RetryPolicy['retryOn']),
    random: r.random === undefined ? base.random : (r.random as () => number),
  };
}

/** Pool verdicts that are never retried, whatever the policy says. */
const NEVER = new Set<string>([ErrorCodes.TASK_ABORTED, ErrorCodes.DEADLINE_EXCEEDED, ErrorCodes.POOL_CLOSED, ErrorCodes.UNKNOWN_TASK, ErrorCodes.MODULE_LOAD, ErrorCodes.INVALID_OPTION]);
/** Pool verdicts retried only when `retryOn` says so: a lost result belongs here too, since its task ran to its end (side effects and all). */
const ONLY_IF_ASKED = new Set<string>([ErrorCodes.TASK_TIMEOUT, ErrorCodes.WORKER_CRASHED, ErrorCodes.SERIALIZATION, ErrorCodes.RESULT_LOST]);

/** Whether the failure of attempt `attempt` (1-based) earns another try. */
export function shouldRetry(policy: RetryPolicy, error: unknown, attempt: number): boolean {
  if (attempt >= policy.attempts) return false;
  if (error instanceof SluiceError || error instanceof DeadlineExceededError) {
    if (NEVER.has(error.code)) return false;
    if (ONLY_IF_ASKED.has(error.code)) return policy.retryOn?.(error, attempt) === true;
  }
  return policy.retryOn === undefined ? true : policy.retryOn(error, attempt) === true;
}

/** The wait before attempt `attempt + 1`, in ms. */
export function retryDelay(policy: RetryPolicy, attempt: number): number {
  const raw = policy.backoff === 'fixed' ? policy.baseMs : policy.baseMs * 2 ** (attempt - 1);
  const capped = Math.min(policy.maxMs, raw);
  return policy.jitter === 'full' ? Math.floor(policy.random() * capped) : capped;
}
