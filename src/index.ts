export { createPool, Pool } from './pool.js';
export type { PoolStats, PoolState } from './scheduler.js';
export type { AnyPoolOptions, AsyncPoolOptions, CloseOptions, CommonPoolOptions, DynamicSize, OverflowPolicy, PoolKind, PoolOptions, QueueOptions, ResourceLimits, RunOptions } from './options.js';
export {
  chunkTask,
  mapShared,
  type MapSharedOptions,
  type MapSharedResult,
  type RangeFailure,
  type RangeOk,
  type SharedRange,
  type SharedTypedArray,
} from './shared-chunks.js';
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
