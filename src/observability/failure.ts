/** How a failed task is described: its correlation id on the error, and a short reason for events and logs. */

import { ErrorCodes } from '../api/errors.js';

/** Every error a task settles with carries its correlation id (non-enumerable, so it does not change how it prints). */
export function tagCorrelation(err: unknown, correlationId: string): void {
  if (err === null || typeof err !== 'object' || Object.prototype.hasOwnProperty.call(err, 'correlationId')) return;
  try {
    Object.defineProperty(err, 'correlationId', { value: correlationId, enumerable: false, configurable: true, writable: true });
  } catch {
    // a frozen object: leave it as it is
  }
}

const REASONS: Record<string, string> = {
  [ErrorCodes.TASK_TIMEOUT]: 'timeout',
  [ErrorCodes.WORKER_CRASHED]: 'crash',
  [ErrorCodes.RESULT_LOST]: 'lost',
  [ErrorCodes.TASK_ABORTED]: 'aborted',
  [ErrorCodes.DEADLINE_EXCEEDED]: 'deadline',
  [ErrorCodes.TASK_DROPPED]: 'dropped',
  [ErrorCodes.POOL_CLOSED]: 'closed',
  [ErrorCodes.SERIALIZATION]: 'serialization',
};

export function failureReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' ? REASONS[code] : undefined) ?? 'error';
}
