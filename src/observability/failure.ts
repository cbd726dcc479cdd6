/** How a failed task is described: its correlation id on the error, and a short reason for events and logs. */

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
  ERR_SLUICE_TASK_TIMEOUT: 'timeout',
  ERR_SLUICE_WORKER_CRASHED: 'crash',
  ERR_SLUICE_RESULT_LOST: 'lost',
  ERR_SLUICE_TASK_ABORTED: 'aborted',
  ERR_SLUICE_DEADLINE_EXCEEDED: 'deadline',
  ERR_SLUICE_TASK_DROPPED: 'dropped',
  ERR_SLUICE_POOL_CLOSED: 'closed',
  ERR_SLUICE_SERIALIZATION: 'serialization',
};

export function failureReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' ? REASONS[code] : undefined) ?? 'error';
}
