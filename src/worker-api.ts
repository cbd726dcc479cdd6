/**
 * `sluice/worker`: what code running inside a worker (a task module or a
 * `workerSetup` module) may import from sluice.
 */
export { registerTaskHook, type TaskHook, type TaskHookInfo } from './runtime/task-hooks.js';
export type { TaskContext } from './api/types.js';
export type { TraceCarrier } from './observability/diagnostics.js';
