/**
 * `sluice/worker`: what code running inside a worker (a task module or a
 * `workerSetup` module) may import from sluice.
 */
export { registerTaskHook, type TaskHook, type TaskHookInfo } from './task-hooks.js';
export type { TaskContext } from './task-context.js';
export type { TraceCarrier } from './diagnostics.js';
