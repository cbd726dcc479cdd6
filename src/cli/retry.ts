/**
 * Retry policy of the CLI runner (the pool has no retry option yet). An
 * error's `code` decides: failures that will fail the same way again are
 * never retried.
 */

import { ErrorCodes } from '../errors.js';

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

/** Cap of one backoff wait, so a large --retries does not wait for hours. */
export const MAX_BACKOFF_MS = 30_000;

/** Exponential backoff: `base`, 2×`base`, 4×`base`... before retry 1, 2, 3..., capped at MAX_BACKOFF_MS. */
export function backoffMs(retry: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** (retry - 1), MAX_BACKOFF_MS);
}
