export { createPool, Pool, type TrySubmitResult } from './pool.js';
export type { PoolStats, PoolState, SupervisionStats, WorkerStat } from './api/stats.js';
export type { LoadSummary } from './sizing/load-window.js';
export type { LatencySummary } from './observability/latency.js';
export type { LittleSummary } from './sizing/little.js';
export { hysteresisScaler, HysteresisScaler, HYSTERESIS_DEFAULTS, type HysteresisOptions, type Scaler, type ScalerMetrics, type ScaleDecision } from './sizing/scaler.js';
export { cpuCount, cgroupCpuLimit } from './sizing/cpu-count.js';
export type { MapOptions, MapResult } from './engine/map.js';
export type { RetryOptions } from './supervision/retry.js';
export type { BreakerState } from './supervision/circuit-breaker.js';
export type { DeadLetter, DeadLetterError, DeadLetterOption } from './dead-letter/sinks.js';
export type {
  AgingOptions,
  AnyPoolOptions,
  AsyncPoolOptions,
  CircuitBreakerOptions,
  CommonPoolOptions,
  CloseOptions,
  DynamicSize,
  HeartbeatOptions,
  Logger,
  OverflowContext,
  OverflowFunction,
  OverflowPolicy,
  PoolKind,
  PoolOptions,
  QuarantineOptions,
  QueueOptions,
  QueueRetryOptions,
  RateLimitOptions,
  RecycleOptions,
  ResourceLimits,
  RestartIntensityOptions,
  RunOptions,
  SaturationOptions,
  SupervisionOptions,
  WorkerPlacementOptions,
} from './api/options.js';
export type { PoolDiagnostics, ProcStatus, WorkerDiagnostics } from './observability/worker-diagnostics.js';
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
export type { TaskContext, TaskInput, TaskModule, TaskName, TaskOutput, UntypedModule } from './api/types.js';
export { registerError } from './wire/error-codec.js';
export { CHANNEL_NAMES } from './observability/diagnostics.js';
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
} from './api/errors.js';
export { systemClock, type Clock, type TimerHandle } from './time/clock.js';
