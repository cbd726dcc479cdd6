/**
 * Every error sluice raises. One class per failure, each with a stable `code`
 * users can match on instead of message text, and `cause` where there is one.
 *
 * `instanceof` works across duplicate copies of the package (two versions in
 * one node_modules tree): `SluiceError` checks the `Symbol.for('sluice.error')`
 * brand every sluice error carries, and each class of this file also accepts
 * an error carrying its own brand, `Symbol.for('sluice.error.<code>')` (set on
 * its prototype, so copies of this version or later have it). Other classes,
 * subclasses of these included, check their prototype chain only.
 */

const kBrand = Symbol.for('sluice.error');
/** The per-class brands of this file's subclasses (see `brand` at the end). */
const classBrands = new WeakMap<object, symbol>();

export const ErrorCodes = {
  QUEUE_FULL: 'ERR_SLUICE_QUEUE_FULL',
  QUEUE_TIMEOUT: 'ERR_SLUICE_QUEUE_TIMEOUT',
  TASK_TIMEOUT: 'ERR_SLUICE_TASK_TIMEOUT',
  TASK_ABORTED: 'ERR_SLUICE_TASK_ABORTED',
  DEADLINE_EXCEEDED: 'ERR_SLUICE_DEADLINE_EXCEEDED',
  WORKER_CRASHED: 'ERR_SLUICE_WORKER_CRASHED',
  POOL_CLOSED: 'ERR_SLUICE_POOL_CLOSED',
  UNKNOWN_TASK: 'ERR_SLUICE_UNKNOWN_TASK',
  SERIALIZATION: 'ERR_SLUICE_SERIALIZATION',
  INVALID_OPTION: 'ERR_SLUICE_INVALID_OPTION',
  MODULE_LOAD: 'ERR_SLUICE_MODULE_LOAD',
  TASK_FAILED: 'ERR_SLUICE_TASK_FAILED',
  TASK_DROPPED: 'ERR_SLUICE_TASK_DROPPED',
  /** sluice/bullmq: Redis could not be reached. */
  REDIS_UNAVAILABLE: 'ERR_SLUICE_REDIS_UNAVAILABLE',
  /** sluice/bullmq: the awaited job no longer exists in Redis. */
  JOB_LOST: 'ERR_SLUICE_JOB_LOST',
  WORKER_STALLED: 'ERR_SLUICE_WORKER_STALLED',
  WORKER_INIT: 'ERR_SLUICE_WORKER_INIT',
  POOL_FAILED: 'ERR_SLUICE_POOL_FAILED',
  CIRCUIT_OPEN: 'ERR_SLUICE_CIRCUIT_OPEN',
  /** The task returned, but its worker died before the result could reach the pool. */
  RESULT_LOST: 'ERR_SLUICE_RESULT_LOST',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base class of every sluice error. */
export class SluiceError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    // The base class accepts any branded error (the brand sits on the
    // prototype, so errors rebuilt from another worker or another copy of
    // the package carry it too); subclasses check their prototype chain, and
    // this file's subclasses their own brand too.
    if (this === SluiceError) return (value as Record<symbol, unknown>)[kBrand] === true;
    if (Object.prototype.isPrototypeOf.call(this.prototype, value)) return true;
    const own = classBrands.get(this);
    return own !== undefined && (value as Record<symbol, unknown>)[own] === true;
  }
}
Object.defineProperty(SluiceError.prototype, kBrand, { value: true });

/** The queue holds `capacity` tasks and the overflow policy is `reject`. */
export class QueueFullError extends SluiceError {
  readonly capacity: number;
  /**
   * `callers`: with `overflow: 'wait'`, the callers already waiting for room
   * (queue.maxWaiting reached). `burst`: the tasks of this tick that found
   * no free worker, when they alone overfilled the queue (the
   * `Promise.all(inputs.map(...))` pattern): the message then says what to
   * use instead.
   */
  constructor(capacity: number, running: number, callers?: number, burst?: number) {
    const also = callers === undefined ? '' : `, and ${callers} callers already waiting for room (queue.maxWaiting)`;
    let advice = '';
    if (burst !== undefined) {
      const ways = callers === undefined ? "pool.map(name, inputs), which keeps a bounded number in flight; queue.overflow: 'wait'; or await pool.ready() before each run()" : 'pool.map(name, inputs), which keeps a bounded number in flight; or await pool.ready() before each run()';
      advice = `; ${burst} tasks in this tick found no free worker: to run many inputs, use ${ways}`;
    }
    super(ErrorCodes.QUEUE_FULL, `queue is full: ${capacity} waiting, ${running} running${also}${advice}`);
    this.capacity = capacity;
  }
}

/** With `overflow: 'wait'`, the task found no room within `queueTimeoutMs`. */
export class QueueTimeoutError extends SluiceError {
  constructor(waitedMs: number) {
    super(ErrorCodes.QUEUE_TIMEOUT, `no room in the queue within ${waitedMs} ms`);
  }
}

/** The task ran longer than its `timeoutMs`; its worker was replaced. */
export class TaskTimeoutError extends SluiceError {
  readonly timeoutMs: number;
  readonly taskName: string;
  constructor(taskName: string, timeoutMs: number) {
    super(ErrorCodes.TASK_TIMEOUT, `task "${taskName}" ran longer than ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
    this.taskName = taskName;
  }
}

/** The task's `deadlineMs`, counted from submission, passed before it finished. */
export class DeadlineExceededError extends SluiceError {
  readonly deadlineMs: number;
  readonly taskName: string;
  constructor(taskName: string, deadlineMs: number, whileQueued: boolean) {
    super(
      ErrorCodes.DEADLINE_EXCEEDED,
      `task "${taskName}" missed its deadline of ${deadlineMs} ms ${whileQueued ? 'while queued' : 'while running'}`,
    );
    this.deadlineMs = deadlineMs;
    this.taskName = taskName;
  }
}

/** An overflow policy dropped the task from a full queue; it is in the dead-letter queue. */
export class TaskDroppedError extends SluiceError {
  readonly taskName: string;
  readonly correlationId: string;
  constructor(taskName: string, correlationId: string, capacity: number) {
    super(ErrorCodes.TASK_DROPPED, `task "${taskName}" (${correlationId}) was dropped from a full queue (capacity ${capacity})`);
    this.taskName = taskName;
    this.correlationId = correlationId;
  }
}

/** The caller's signal aborted the task. The signal's reason is the `cause`. */
export class TaskAbortedError extends SluiceError {
  constructor(taskName: string, reason: unknown) {
    super(ErrorCodes.TASK_ABORTED, `task "${taskName}" was aborted`, { cause: reason });
  }
}

export interface WorkerCrashDetails {
  workerId: number;
  taskName?: string | undefined;
  exitCode?: number | null | undefined;
  signal?: string | null | undefined;
  /**
   * `'stopped'`: the pool stopped the worker because another task on it
   * would not stop (past its time limit, or cancelled, and past
   * `abortGraceMs`); this task was running beside it and is not to blame.
   */
  reason: 'exit' | 'error' | 'oom' | 'signal' | 'stopped';
  /** With reason `'stopped'`: why the worker was stopped. */
  stoppedBecause?: string | undefined;
}

/** The worker running the task died. The pool has replaced it. */
export class WorkerCrashedError extends SluiceError {
  readonly workerId: number;
  readonly taskName: string | undefined;
  readonly exitCode: number | null | undefined;
  readonly signal: string | null | undefined;
  readonly reason: WorkerCrashDetails['reason'];
  constructor(details: WorkerCrashDetails, cause?: unknown) {
    const what =
      details.reason === 'stopped'
        ? `was stopped because ${details.stoppedBecause ?? 'another task on it would not stop'}`
        : details.reason === 'oom'
        ? 'ran out of memory'
        : details.reason === 'signal'
          ? `was killed by ${details.signal ?? 'a signal'}`
          : details.reason === 'error'
            ? 'threw an uncaught exception'
            : `exited with code ${String(details.exitCode)}`;
    const task = details.taskName === undefined ? '' : ` while running "${details.taskName}"`;
    super(ErrorCodes.WORKER_CRASHED, `worker ${details.workerId} ${what}${task}`, cause === undefined ? undefined : { cause });
    this.workerId = details.workerId;
    this.taskName = details.taskName;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.reason = details.reason;
  }
}

/**
 * The task returned in its worker, but the worker died before the result
 * reached the pool: killed from outside (SIGKILL), out of memory, or
 * terminated because another task on it hung. The task did run to its end,
 * so it is not requeued as if it never started; it is retried only if its
 * retry policy says so.
 */
export class ResultLostError extends SluiceError {
  readonly workerId: number;
  readonly taskName: string;
  constructor(workerId: number, taskName: string, why: string, cause?: unknown) {
    super(ErrorCodes.RESULT_LOST, `task "${taskName}" finished on worker ${workerId}, but its result was lost: ${why}`, cause === undefined ? undefined : { cause });
    this.workerId = workerId;
    this.taskName = taskName;
  }
}

/** The pool is closing or closed and takes no more work. */
export class PoolClosedError extends SluiceError {
  constructor(message = 'pool is closed') {
    super(ErrorCodes.POOL_CLOSED, message);
  }
}

/** The task name is not exported by the worker module. */
export class UnknownTaskError extends SluiceError {
  readonly taskName: string;
  readonly available: readonly string[];
  constructor(taskName: string, available: readonly string[]) {
    super(
      ErrorCodes.UNKNOWN_TASK,
      `unknown task "${taskName}"; the module exports: ${available.length ? available.join(', ') : '(no functions)'}`,
    );
    this.taskName = taskName;
    this.available = available;
  }
}

/** An input or output could not be structured-cloned across the worker boundary. */
export class SerializationError extends SluiceError {
  readonly taskName: string;
  constructor(taskName: string, direction: 'input' | 'output', cause: unknown) {
    super(ErrorCodes.SERIALIZATION, `the ${direction} of task "${taskName}" cannot be cloned to send it across the worker boundary`, { cause });
    this.taskName = taskName;
  }
}

/** An option has the wrong type or value. The message names the option, the expectation and what was got. */
export class InvalidOptionError extends SluiceError {
  readonly option: string;
  constructor(option: string, expected: string, got: unknown) {
    super(ErrorCodes.INVALID_OPTION, `${option} must be ${expected}, got ${describe(got)}`);
    this.option = option;
  }
}

/**
 * The worker module could not be imported. The loader's error is the
 * `cause`; when Node refused TypeScript, the message says how to load it
 * (typeScriptAdvice).
 */
export class ModuleLoadError extends SluiceError {
  readonly module: string;
  constructor(module: string, cause: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    const advice = typeScriptAdvice(cause);
    super(ErrorCodes.MODULE_LOAD, `cannot load worker module ${module}${detail}${advice === undefined ? '' : `. ${advice}`}`, { cause });
    this.module = module;
  }
}

/** Example command lines for typeScriptAdvice: a program's by default; the CLI passes its own. */
export interface LoaderExamples {
  /** Starting node with the loader. */
  node: string;
  /** The same through the environment. */
  env: string;
}

const PROGRAM: LoaderExamples = { node: 'node --import tsx app.js', env: 'NODE_OPTIONS="--import tsx" node app.js' };

/**
 * How to load a TypeScript module that Node refused, or undefined when `err`
 * (or its cause) is not such a refusal. The one definition of this advice:
 * ModuleLoadError's message carries it, and `sluice run` prints it with its
 * own command lines. Workers load TypeScript whenever the program does, so
 * the fix is always in how the program itself is started.
 */
export function typeScriptAdvice(err: unknown, examples: LoaderExamples = PROGRAM): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && typeof message === 'string' && /\.[mc]?tsx?"? for /.test(message)) {
      return `Node runs TypeScript only through a loader; start it with one, e.g. ${examples.node} or ${examples.env} (npm install -D tsx), or use a Node that strips types itself (22.18+, 23.6+; 22.6+ with --experimental-strip-types)`;
    }
    if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
      return `Node's type stripping only erases types and cannot run this syntax (enums, namespaces, parameter properties...); load the module through tsx instead, e.g. ${examples.node} or ${examples.env}, or start Node with --experimental-transform-types`;
    }
    if (code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING') {
      return `Node does not strip types from files under node_modules; load the module through tsx instead, e.g. ${examples.node} or ${examples.env}`;
    }
  }
  return undefined;
}

/**
 * A task threw something that is not an Error (a string, a number, a plain
 * object). The thrown value is kept as `thrown`.
 */
export class TaskFailedError extends SluiceError {
  readonly thrown: unknown;
  constructor(taskName: string, thrown: unknown) {
    super(ErrorCodes.TASK_FAILED, `task "${taskName}" threw a non-Error value: ${describe(thrown)}`);
    this.thrown = thrown;
  }
}

/** What the pool could learn about a stalled worker before it killed it (see docs/supervision.md). */
export interface StallReport {
  workerId: number;
  kind: 'thread' | 'process' | 'async';
  /** The task it was running, if one had started. */
  task: string | undefined;
  taskId: number | undefined;
  correlationId: string | undefined;
  /** How long that task had run, in ms. */
  runningMs: number | undefined;
  /** Heartbeat intervals that passed without a beat. */
  missedBeats: number;
  /** Time since the last beat, in ms (pool clock). */
  silentMs: number;
  /** Heap used at the last beat (the worker cannot answer now), in bytes. */
  heapUsed: number | undefined;
  /** Process workers: resident set size from /proc at the time of the stall, in bytes. */
  rss: number | undefined;
  /** Thread workers: event-loop utilization since the previous watchdog check, read from the parent side (near 1: busy in JavaScript). */
  eventLoopUtilization: number | undefined;
  /** Process workers: the pid, and the file a diagnostic report was asked for (written only if the child can still run its signal handler). */
  pid: number | undefined;
  reportFile: string | undefined;
}

/**
 * The worker stopped beating: its event loop was blocked (or the thread hung)
 * for longer than the watchdog allows. The pool killed and replaced it; the
 * `report` says what it was running and what could be captured.
 */
export class WorkerStalledError extends SluiceError {
  readonly workerId: number;
  readonly taskName: string | undefined;
  readonly runningMs: number | undefined;
  readonly report: StallReport;
  constructor(report: StallReport) {
    const task = report.task === undefined ? 'while idle' : `while running "${report.task}" for ${Math.round(report.runningMs ?? 0)} ms`;
    super(ErrorCodes.WORKER_STALLED, `worker ${report.workerId} stalled ${task}: no heartbeat for ${Math.round(report.silentMs)} ms (${report.missedBeats} beats missed)`);
    this.workerId = report.workerId;
    this.taskName = report.task;
    this.runningMs = report.runningMs;
    this.report = report;
  }
}

/** A worker's initializer (`sluice.init` in the worker module) threw; the worker never became ready. The initializer's error is the `cause`. */
export class WorkerInitError extends SluiceError {
  readonly workerId: number;
  constructor(workerId: number, cause: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    super(ErrorCodes.WORKER_INIT, `worker ${workerId} initializer (sluice.init) failed${detail}`, { cause });
    this.workerId = workerId;
  }
}

/**
 * Workers restarted more than the restart intensity allows (`maxRestarts`
 * within `withinMs`): the pool stopped respawning in a loop, rejects new
 * work, and retries with backoff until a worker starts and stays up.
 * `causes` are the last crash causes, newest last.
 */
export class PoolFailedError extends SluiceError {
  readonly restarts: number;
  readonly withinMs: number;
  readonly causes: readonly unknown[];
  /** `barren`: how many workers in a row exited before finishing any task, when that is what failed the pool. */
  constructor(restarts: number, withinMs: number, causes: readonly unknown[], barren = 0) {
    const last = causes.slice(-3).map((c) => (c instanceof Error ? c.message : String(c)));
    const what = barren > 0 ? `${barren} workers in a row exited before finishing any task` : `${restarts} worker restarts within ${withinMs} ms`;
    super(ErrorCodes.POOL_FAILED, `pool failed: ${what}; last causes: ${last.join('; ') || '(none)'}`, { cause: causes[causes.length - 1] });
    this.restarts = restarts;
    this.withinMs = withinMs;
    this.causes = causes;
  }
}

/** The circuit breaker for this task name (or the whole pool) is open: the task was refused without running. */
export class CircuitOpenError extends SluiceError {
  readonly taskName: string;
  /** `'task'` (this name's breaker) or `'pool'` (the pool-wide breaker). */
  readonly scope: 'task' | 'pool';
  /** Error rate over the window when the breaker opened. */
  readonly errorRate: number;
  /** When the breaker half-opens, on the pool's clock. */
  readonly retryAt: number;
  constructor(taskName: string, scope: 'task' | 'pool', errorRate: number, retryAt: number) {
    super(ErrorCodes.CIRCUIT_OPEN, `circuit open for ${scope === 'pool' ? 'the pool' : `task "${taskName}"`}: error rate ${(errorRate * 100).toFixed(1)}% over the window; trial tasks allowed again later`);
    this.taskName = taskName;
    this.scope = scope;
    this.errorRate = errorRate;
    this.retryAt = retryAt;
  }
}

/** Brands `cls` with `Symbol.for('sluice.error.<code>')`, which `instanceof cls` accepts from any copy of the package. */
function brand(cls: abstract new (...args: never[]) => SluiceError, code: ErrorCode): void {
  const symbol = Symbol.for(`sluice.error.${code}`);
  Object.defineProperty(cls.prototype, symbol, { value: true });
  classBrands.set(cls, symbol);
}
brand(QueueFullError, ErrorCodes.QUEUE_FULL);
brand(QueueTimeoutError, ErrorCodes.QUEUE_TIMEOUT);
brand(TaskTimeoutError, ErrorCodes.TASK_TIMEOUT);
brand(DeadlineExceededError, ErrorCodes.DEADLINE_EXCEEDED);
brand(TaskDroppedError, ErrorCodes.TASK_DROPPED);
brand(TaskAbortedError, ErrorCodes.TASK_ABORTED);
brand(WorkerCrashedError, ErrorCodes.WORKER_CRASHED);
brand(ResultLostError, ErrorCodes.RESULT_LOST);
brand(PoolClosedError, ErrorCodes.POOL_CLOSED);
brand(UnknownTaskError, ErrorCodes.UNKNOWN_TASK);
brand(SerializationError, ErrorCodes.SERIALIZATION);
brand(InvalidOptionError, ErrorCodes.INVALID_OPTION);
brand(ModuleLoadError, ErrorCodes.MODULE_LOAD);
brand(TaskFailedError, ErrorCodes.TASK_FAILED);
brand(WorkerStalledError, ErrorCodes.WORKER_STALLED);
brand(WorkerInitError, ErrorCodes.WORKER_INIT);
brand(PoolFailedError, ErrorCodes.POOL_FAILED);
brand(CircuitOpenError, ErrorCodes.CIRCUIT_OPEN);

/** `-1 (number)`, `"x" (string)`, `[object Object] (object)`: the value with its type. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  const type = Array.isArray(value) ? 'array' : typeof value;
  let shown: string;
  try {
    if (typeof value === 'function') shown = `[Function ${value.name || 'anonymous'}]`;
    else if (typeof value === 'symbol') shown = value.toString();
    else if (typeof value === 'object' || typeof value === 'string') shown = JSON.stringify(value) ?? Object.prototype.toString.call(value);
    else shown = String(value as number | boolean | bigint | undefined); // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion -- narrows for no-base-to-string
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  return `${shown} (${type})`;
}
