export { createPool, Pool, type TrySubmitResult } from './pool.js';
export type { PoolStats, PoolState } from './scheduler.js';
export type { LoadSummary } from './load-window.js';
export type { LatencySummary } from './latency.js';
export type { LittleSummary } from './little.js';
export { hysteresisScaler, HysteresisScaler, HYSTERESIS_DEFAULTS, type HysteresisOptions, type Scaler, type ScalerMetrics, type ScaleDecision } from './scaler.js';
export { cpuCount, cgroupCpuLimit } from './cpu-count.js';
export type { MapOptions, MapResult } from './map.js';
export type { RetryOptions } from './retry.js';
export type { DeadLetter, DeadLetterError, DeadLetterOption } from './dead-letter.js';
export type {
  AgingOptions,
  AnyPoolOptions,
  AsyncPoolOptions,
  CommonPoolOptions,
  CloseOptions,
  DynamicSize,
  OverflowContext,
  OverflowFunction,
  OverflowPolicy,
  PoolKind,
  PoolOptions,
  QueueOptions,
  QueueRetryOptions,
  ResourceLimits,
  RunOptions,
  SaturationOptions,
} from './options.js';
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
export { CHANNEL_NAMES } from './diagnostics.js';
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
  TaskDroppedError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownTaskError,
  WorkerCrashedError,
  ResultLostError,
  WorkerStalledError,
  WorkerInitError,
  PoolFailedError,
  CircuitOpenError,
  type StallReport,
  type ErrorCode,
} from './errors.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
