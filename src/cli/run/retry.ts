/**
 * What `sluice run --retries` retries: the `retryOn` of the pool's retry
 * policy. An error's `code` decides: failures that will fail the same way
 * again are never retried; timeouts and crashes are (unlike the pool's
 * default), since a batch job would rather try a line again than lose it.
 */

import { ErrorCodes } from '../../api/errors.js';

const NEVER_RETRY: ReadonlySet<string> = new Set([
  ErrorCodes.UNKNOWN_TASK,
  ErrorCodes.SERIALIZATION,
  ErrorCodes.INVALID_OPTION,
  // The pool is shutting down: a retry would be refused too.
  ErrorCodes.POOL_CLOSED,
]);

export function isRetryable(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code !== 'string' || !NEVER_RETRY.has(code);
}

