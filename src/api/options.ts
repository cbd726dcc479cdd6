/**
 * Every option of `createPool` and `pool.run`, documented in one place.
 * Validation lives in validate.ts; defaults are stated here with `@default`.
 */

import type { Transferable } from './types.js';
import type { Clock } from '../time/clock.js';
import type { DeadLetterOption } from '../dead-letter/sinks.js';
import type { TraceCarrier } from '../observability/diagnostics.js';
import type { HysteresisOptions, Scaler } from '../sizing/scaler.js';
import type { RetryOptions } from '../supervision/retry.js';
import type { TaskModule, UntypedModule } from './types.js';

/**
 * Execution model: `'thread'` (worker_threads), `'process'` (child
 * processes) or `'async'` (async functions in this process). See docs/kinds.md.
 */
export type PoolKind = 'thread' | 'process' | 'async';

/** What happens to a task that finds the queue full. `'caller-runs'` is for `kind: 'async'` only. */
export type OverflowPolicy = 'reject' | 'wait' | 'drop-oldest' | 'drop-lowest-priority' | 'caller-runs';

/** The overflow policies a pool of this kind accepts: 'caller-runs' only where a task can run in the caller (kind 'async'). */
export function overflowPolicies(kind: PoolKind): readonly OverflowPolicy[] {
  return kind === 'async' ? ALL_OVERFLOWS : WORKER_OVERFLOWS;
}
const WORKER_OVERFLOWS: readonly OverflowPolicy[] = ['reject', 'wait', 'drop-oldest', 'drop-lowest-priority'];
const ALL_OVERFLOWS: readonly OverflowPolicy[] = [...WORKER_OVERFLOWS, 'caller-runs'];

/** What a custom overflow policy sees of the incoming task. */
export interface OverflowContext {
  readonly name: string;
  readonly priority: number;
  readonly correlationId: string;
  readonly queued: number;
  readonly capacity: number;
}

/** A custom overflow policy: picks one of the built-in policies for each incoming task. */
export type OverflowFunction = (task: OverflowContext) => OverflowPolicy;

export interface AgingOptions {
  /** A waiting task's priority rises by `step` every `everyMs` it waits. @default 1000 */
  everyMs?: number;
  /** @default 1 */
  step?: number;
}

export interface SaturationOptions {
  /** How often queue depth and worker utilization are sampled, in ms. @default 1000 */
  sampleMs?: number;
  /** Length of the sliding window `stats().window` covers, in ms. @default 60_000 */
  windowMs?: number;
  /** `saturated` fires when queue depth stays above `factor` × the maximum pool size for this long. @default 5000 */
  afterMs?: number;
  /** @default 2 */
  factor?: number;
  /** `latency-alarm` fires when the p99 latency of a sample interval stays above this × its baseline for `afterMs`. @default 2 */
  latencyFactor?: number;
}

/** A pino-compatible logger: pino itself, or anything with these methods. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface QueueOptions {
  /**
   * How many tasks may wait for a worker (not counting those running). Past
   * that, `overflow` decides. `Infinity` is allowed but gives up the bound.
   * @default 10_000
   */
  capacity?: number;
  /**
   * What `run()` does when the queue is full: `'reject'` rejects at once with
   * `QueueFullError`; `'wait'` waits for room (honouring `signal` and
   * `queueTimeoutMs`); `'drop-oldest'` drops the task that has waited
   * longest; `'drop-lowest-priority'` drops the lowest-priority task, the
   * incoming one included (the newest loses a tie). A dropped task rejects
   * with `TaskDroppedError` and goes to the dead-letter queue. A function
   * picks one of these per task.
   * `'caller-runs'` (kind `'async'` only) starts the task
   * at once, past the concurrency limit, as if the caller had called the
   * function itself, with the pool's timeouts, cancellation and stats.
   * @default 'reject'
   */
  overflow?: OverflowPolicy | OverflowFunction;
  /**
   * Aging, so low-priority work is never starved: a waiting task's effective
   * priority rises by `step` every `everyMs`. A task is overtaken only by
   * tasks of priority p' > p submitted less than (p' - p) × everyMs / step
   * ms after it. `false` turns aging off.
   * @default { everyMs: 1000, step: 1 }
   */
  aging?: AgingOptions | false;
  /**
   * With `overflow: 'wait'` (or a function that picks it), how many calls
   * may wait for room at once. Past it a call rejects at once with
   * `QueueFullError`, so a caller that never awaits cannot pile up waiting
   * tasks without bound. A non-negative integer or `Infinity` (0: nobody
   * waits, as with `'reject'`). Only for `overflow: 'wait'` or a function.
   * @default 10 × `capacity`, at least 1000 (`Infinity` when `capacity` is `Infinity`)
   */
  maxWaiting?: number;
}

export interface DynamicSize {
  /** Workers kept even when idle. @default 0 */
  min?: number;
  /** Workers at most. @default CPUs available to this process (a container's CPU quota respected; 64 for kind `'async'`) */
  max?: number;
  /** A worker idle this long is retired (never below `min`). @default 30_000 */
  idleTimeoutMs?: number;
  /**
   * Adaptive sizing between `min` and `max`, sampled every
   * `saturation.sampleMs`: `'hysteresis'` (the built-in scaler with its
   * defaults), hysteresis options (`{ upQueue, upCpu, upAfterMs, downQueue,
   * downCpu, downAfterMs, step, cooldownMs, overloadCpu, latencyRise, ... }`),
   * or any `{ sample(metrics) => size }`. Without one, the pool adds a worker
   * whenever work waits, up to `max`. See docs/scaling.md.
   * @default undefined (grow on queue pressure)
   */
  scaler?: 'hysteresis' | HysteresisOptions | Scaler;
}

export interface ResourceLimits {
  /** Heap cap of each worker, in MiB. A worker that passes it dies and its task rejects with `WorkerCrashedError` (reason `oom`). */
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/** Heartbeats and the stall watchdog (thread and process workers). */
export interface HeartbeatOptions {
  /** How often each worker beats (its own timer), in ms; the watchdog checks on the pool's clock at the same period. @default 1000 */
  intervalMs?: number;
  /** A worker that misses this many beats in a row is stalled: killed, replaced, its task rejected with `WorkerStalledError`. @default 5 */
  missedBeats?: number;
  /**
   * Process workers: before killing a stalled child, send it SIGUSR2 so a
   * child started with `--report-on-signal` writes a diagnostic report (a
   * child hung in JavaScript cannot run the handler; see docs/supervision.md).
   * @default false
   */
  processReport?: boolean;
}

/** When a worker is retired and replaced (the replacement starts first). */
export interface RecycleOptions {
  /** Retire a worker after it has finished this many tasks. @default Infinity */
  maxTasks?: number;
  /** Retire a worker this old, in ms (checked every heartbeat interval, or every second without heartbeats). @default Infinity */
  maxAgeMs?: number;
  /** Thread workers: retire when heap used (reported with each beat) passes this many MiB. Needs heartbeats. @default Infinity */
  maxHeapMb?: number;
  /** Process workers: retire when resident set size passes this many MiB. @default Infinity */
  maxRssMb?: number;
}

/** The Erlang/OTP restart intensity: more than `maxRestarts` within `withinMs` fails the pool (recoverably). */
export interface RestartIntensityOptions {
  /** @default 100 */
  maxRestarts?: number;
  /** @default 10_000 */
  withinMs?: number;
  /** First wait before a probe worker is started while failed; doubles per failed probe. @default 1000 */
  backoffMs?: number;
  /** @default 30_000 */
  maxBackoffMs?: number;
  /** A probe worker that stays up this long (after it is ready) ends the failed state. @default 1000 */
  recoverAfterMs?: number;
  /**
   * More than this many restarts in a row of workers that did no work (exited
   * before finishing any task, or ended themselves while running none) fail
   * the pool too, however slowly they come: a forking process takes 50 to
   * 100 ms, so a rate alone never stops its crash loop. From the second one
   * in a row, each replacement waits a growing delay (25 ms, doubling, up to
   * `backoffMs`). @default 5
   */
  maxBarrenRestarts?: number;
}

/** Circuit breakers per task name and for the pool. */
export interface CircuitBreakerOptions {
  /** Error rate (0..1) over the window at which the breaker opens. @default 0.05 */
  threshold?: number;
  /** Outcomes the window must hold before the rate counts. @default 20 */
  minVolume?: number;
  /** The rolling window: the last `count` outcomes, or those of the last `ms`. @default { count: 100 } */
  window?: { count: number } | { ms: number };
  /** Time an open breaker refuses work before half-opening, in ms. @default 5000 */
  coolDownMs?: number;
  /** Trial tasks let through while half-open; all must succeed to close it. @default 3 */
  halfOpenTrials?: number;
  /** `'task'`: one breaker per task name; `'pool'`: one for all; `'both'`. @default 'task' */
  scope?: 'task' | 'pool' | 'both';
  /** `'reject'`: refused with `CircuitOpenError` (counted as rejected); `'dead-letter'`: failed with it and written to the dead-letter queue. @default 'reject' */
  onOpen?: 'reject' | 'dead-letter';
}

/**
 * A worker whose recent error rate stands out from its peers' is drained and
 * replaced, while the task names stay open on the others (the rule:
 * docs/supervision.md, "Breakers and quarantine").
 */
export interface QuarantineOptions {
  /** Quarantine when a worker's error rate is above this × the rest of the pool's. @default 5 */
  factor?: number;
  /** ... and at least this absolute error rate. @default 0.2 */
  minErrorRate?: number;
  /** Outcomes (of its last 64) a worker, and its peers together, must have before it is judged; 1 to 64. @default 3 */
  minTasks?: number;
  /**
   * ... and its failures must be this unlikely for a worker failing like
   * its peers (binomial tail, peers' rate smoothed): smaller waits for more evidence.
   * @default 1e-4
   */
  significance?: number;
}

/** Worker supervision; see docs/supervision.md. Everything is off unless set, except restart intensity. */
export interface SupervisionOptions {
  /** @default false (no watchdog: a pool cannot tell a long synchronous task from a hung one unless told) */
  heartbeat?: HeartbeatOptions | boolean;
  /** @default no recycling */
  recycle?: RecycleOptions;
  /** @default { maxRestarts: 100, withinMs: 10_000, backoffMs: 1000, maxBackoffMs: 30_000, recoverAfterMs: 1000, maxBarrenRestarts: 5 } */
  restartIntensity?: RestartIntensityOptions | false;
  /** @default false */
  circuitBreaker?: CircuitBreakerOptions | boolean;
  /** @default false */
  quarantine?: QuarantineOptions | boolean;
  /** How often the pool calls the module's `sluice.health()` (only if it exports one), in ms. @default 10_000 */
  healthCheckMs?: number;
  /** How long `sluice.teardown()` may take on recycle and close before the worker is killed, in ms. @default 5000 */
  teardownTimeoutMs?: number;
}

/** Options every kind shares. */
export interface CommonPoolOptions {
  /**
   * A fixed number of workers, or `{ min, max, idleTimeoutMs }` to grow under
   * queue pressure and retire idle workers. For kind `'async'`: how many
   * tasks may run at once (the concurrency limit).
   * @default os.availableParallelism(), lowered to a cgroup CPU quota when one is set (64 for kind `'async'`)
   */
  size?: number | DynamicSize;
  queue?: QueueOptions;
  /**
   * Running-time limit of each task, in ms (time in the queue does not
   * count). On expiry the task rejects with `TaskTimeoutError` and its worker
   * is replaced. For kind `'async'`, which cannot be killed, `ctx.signal`
   * aborts and the slot stays taken until the function settles or
   * `abortGraceMs` passes. Overridable per call.
   * @default Infinity (no limit)
   */
  timeoutMs?: number;
  /**
   * With `overflow: 'wait'`, how long `run()` may wait for room before
   * rejecting with `QueueTimeoutError`. Overridable per call.
   * @default Infinity
   */
  queueTimeoutMs?: number;
  /**
   * After a running task is aborted, how long its worker may take to notice
   * (`ctx.signal`) and settle before it is terminated and replaced.
   * @default 1000
   */
  abortGraceMs?: number;
  /** Retries of failed tasks, with backoff. Overridable per call. @default no retries */
  retry?: RetryOptions;
  /**
   * Where finally failed, dropped and deadline-missed tasks are recorded.
   * `{ kind: 'memory', capacity }` (oldest evicted past capacity),
   * `{ kind: 'file', path }` (append-only JSON lines, fsynced on close),
   * `{ kind: 'callback', onEntry }` (it may return a promise), or `false`.
   * `deadLetter.path` must be in an existing directory. A sink never fails
   * a task: an entry the file or callback cannot take (a full disk, a
   * callback that throws or rejects) is kept in memory (up to 1000, so
   * `deadLetters()` and `redrive()` still see it) and reported on the
   * `sluice:deadletter:error` channel.
   * @default { kind: 'memory', capacity: 1000 }
   */
  deadLetter?: DeadLetterOption;
  /** Sliding-window load figures in `stats().window`, the `saturated` / `unsaturated` and `latency-alarm` / `latency-normal` events. */
  saturation?: SaturationOptions;
  /**
   * Structured logs (pino recommended; none by default): JSON lines with task
   * id, correlation id, worker id, state and durations. Transitions at
   * `debug`, failures at `warn`, worker crashes and dead-letter sink failures
   * at `error`.
   */
  logger?: Logger;
  /**
   * Per-worker V8 resource limits (thread workers; process workers take
   * `maxOldGenerationSizeMb` only). Thread workers cannot take V8 heap flags
   * such as `--max-old-space-size` in `execArgv`: these are the way to cap
   * a thread's heap.
   */
  resourceLimits?: ResourceLimits;
  /**
   * Tasks sent ahead to one worker before earlier ones finish. Pipelining
   * hides the message round trip for small tasks; for async tasks it is the
   * worker's concurrency. `'auto'` adapts it to the observed task duration
   * (long tasks get 1, tiny tasks up to 128), and to 32 on a worker whose
   * async tasks mostly wait on I/O (see docs/kinds.md; `sluice.exclusive`
   * keeps a task alone on its worker).
   * @default 'auto'
   */
  pipeline?: number | 'auto';
  /**
   * Node CLI flags for workers. Thread workers refuse V8 and process-wide
   * flags (`--max-old-space-size`, `--expose-gc`, `--stack-size`...): given
   * here for kind `'thread'` they fail `createPool` with
   * `InvalidOptionError` (use `resourceLimits` for heap sizes, or kind
   * `'process'`). Inherited flags a thread refuses are dropped silently.
   * @default process.execArgv (so `--import tsx` reaches the workers)
   */
  execArgv?: string[];
  /** Environment of the workers. @default process.env */
  env?: Record<string, string | undefined>;
  /** A name for logs, ids and metrics. @default 'sluice' */
  name?: string;
  /** Time source for queue, deadline, timeout and idle timers. Tests pass a `ManualClock`. @default systemClock */
  clock?: Clock;
  /** Heartbeats, recycling, restart intensity, circuit breakers, quarantine. See docs/supervision.md. */
  supervision?: SupervisionOptions;
  /** A token bucket on task starts (see RateLimitOptions). @default no limit */
  rateLimit?: RateLimitOptions;
}

export interface PoolOptions<M extends TaskModule = UntypedModule> extends CommonPoolOptions {
  /**
   * Execution model. `'thread'`: worker_threads, for CPU-bound work;
   * `'process'`: child processes, for isolation (a crash or a leak takes
   * down one process, not the pool). For `'async'` see `AsyncPoolOptions`.
   * @default 'thread'
   */
  kind?: 'thread' | 'process';
  /** The worker module: a `file:` URL or an absolute path. Each exported function is a task. */
  module: URL | string;
  /**
   * A module each worker imports once, before the task module: set up
   * tracing or metrics inside the worker, register task hooks
   * (`registerTaskHook` from `sluice/worker`). A `file:` URL or an absolute path.
   */
  workerSetup?: URL | string;
  /**
   * Passed (structured-cloned) to the worker module's initializer,
   * `export const sluice = { init(workerData, { workerId }) }`, once per worker.
   * @default undefined
   */
  workerData?: unknown;
  /**
   * How long a worker may take to become ready (load the module, run
   * `workerSetup` and `sluice.init`), in ms. A positive number or `Infinity`.
   * (Kind `'async'` has no such option: its tasks are ready at once.)
   * @default 30_000
   */
  startTimeoutMs?: number;
  /** Process workers: scheduling priority and CPU affinity (Linux). Thread workers refuse it (see docs/queueing.md). */
  worker?: WorkerPlacementOptions;
  /** Type-only: lets the module type flow from options. Never set at run time. */
  readonly __module?: M;
}

export interface QueueRetryOptions {
  /** Give up (QueueFullError) after trying this long, in ms. */
  timeoutMs: number;
  /** First wait between tries, doubled each time. @default 10 */
  baseMs?: number;
  /** Longest wait between tries. @default 1000 */
  maxMs?: number;
}

/**
 * `kind: 'async'`: tasks are async functions run in this process, at most
 * `size` at a time. `tasks` replaces `module`, and its type gives the pool's
 * task names, inputs and outputs.
 */
export interface AsyncPoolOptions<M extends TaskModule = UntypedModule> extends CommonPoolOptions {
  kind: 'async';
  /** The tasks: an object of functions `(input, ctx) => output | Promise<output>`, e.g. `{ fetchPage }` or `import * as tasks`. */
  tasks: M;
}

/** Options of any kind. */
export type AnyPoolOptions<M extends TaskModule = UntypedModule> = PoolOptions<M> | AsyncPoolOptions<M>;

export interface RunOptions {
  /**
   * Integer from -100 to 100; higher runs first, FIFO among equals. Aging
   * (`queue.aging`) keeps low priorities from starving.
   * @default 0
   */
  priority?: number;
  /** Retry policy for this task, merged over the pool's. */
  retry?: RetryOptions;
  /**
   * When the queue is full, keep trying with backoff for up to `timeoutMs`
   * instead of applying the overflow policy at once.
   */
  queueRetry?: QueueRetryOptions;
  /** Cancels the task: removed from the queue, or `ctx.signal` aborted if running. */
  signal?: AbortSignal;
  /** Running-time limit for this task, in ms. @default the pool's `timeoutMs` */
  timeoutMs?: number;
  /** Limit counted from submission, queue time included, in ms. @default Infinity */
  deadlineMs?: number;
  /** With `overflow: 'wait'`: how long to wait for room. @default the pool's `queueTimeoutMs` */
  queueTimeoutMs?: number;
  /**
   * Objects to move to the worker instead of copying (ArrayBuffers; MessagePorts to
   * threads): the caller's are detached on every kind (processes: a copy plus a
   * detach; see docs/kinds.md, "Values across the boundary").
   */
  transfer?: readonly Transferable[];
  /** Ties this task to a request: present in `ctx`, events, errors and logs. @default generated */
  correlationId?: string;
  /**
   * W3C trace context to hand the task (`ctx.traceContext`), for work that
   * arrives with one (a job from another machine). A tracing subscriber of
   * this pool (sluice/otel) replaces it with its own producer span's.
   */
  traceContext?: TraceCarrier;
  /**
   * The task may block its worker's event loop (a long synchronous
   * computation) for up to this long, in ms: while it runs, the heartbeat
   * watchdog tolerates missed beats until it has run `stallMs` (then the
   * worker counts as hung). `timeoutMs` still applies.
   * @default 0 (the task is expected to let its worker beat)
   */
  stallMs?: number;
  /** Shorthand for `stallMs: Infinity`: only `timeoutMs` bounds this task. @default false */
  blocking?: boolean;
  /**
   * Called with each value the task reports with `ctx.progress(value)`, in
   * order (coalesced to the latest value per flush). A throw here is caught
   * and published on `sluice:task:progress-error`; it never fails the task.
   */
  onProgress?: (value: unknown) => void;
}

export interface CloseOptions {
  /** After this long, still-running and queued tasks are rejected and workers terminated. @default 30_000 */
  timeoutMs?: number;
  /**
   * Reject every task that has not started (queued, waiting for room, in a
   * retry backoff, or sent ahead to a worker) with `PoolClosedError` at once,
   * and let only the running ones finish.
   * @default false
   */
  cancelQueued?: boolean;
}

/**
 * A token bucket on task starts: at most `tasks` starts in any `perMs`
 * window, pool-wide. A queued task waits for a token without holding a
 * worker; the wait counts as queue time (stats, `deadlineMs`).
 */
export interface RateLimitOptions {
  /** Starts per window: the bucket's size. A positive integer. */
  tasks: number;
  /** The window, in ms: the bucket refills `tasks` tokens over it. A positive number. */
  perMs: number;
  /** Limits of their own for some task names, on top of the pool-wide one. */
  perName?: Record<string, { tasks: number; perMs: number }>;
}

/** Scheduling priority and CPU placement of process workers (Linux). See docs/queueing.md. */
export interface WorkerPlacementOptions {
  /** Added niceness (`os.setPriority`), 0 to 19: higher runs at lower priority. @default 0 */
  nice?: number;
  /**
   * Pins each worker to CPUs with `taskset` (util-linux): a list of CPU
   * numbers shared by every worker, or `'spread'` (worker n on the n-th CPU
   * this process may use, round robin). Process workers only.
   */
  cpus?: readonly number[] | 'spread';
}
