export { createPool, Pool } from './pool.js';
export type { PoolStats, PoolState } from './scheduler.js';
export type { CloseOptions, DynamicSize, OverflowPolicy, PoolKind, PoolOptions, QueueOptions, ResourceLimits, RunOptions } from './options.js';
export type { TaskContext, TaskInput, TaskModule, TaskName, TaskOutput, UntypedModule } from './types.js';
export { registerError } from './error-codec.js';
export {
  DeadlineExceededError,
  ErrorCodes,
  InvalidOptionError,
  ModuleLoadError,
  PoolClosedError,
  QueueFullError,
  QueueTimeoutError,
  SerializationError,
  SluiceError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownTaskError,
  WorkerCrashedError,
  type ErrorCode,
} from './errors.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
