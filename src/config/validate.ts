/**
 * Option validation. Each check names the option, what was expected and what
 * was got, on one template:
 *   `size must be a positive integer, got -1 (number)`
 * Checks are small reusable predicates rather than a chain of ad-hoc ifs.
 */

import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock } from '../time/clock.js';
import { availableCpus } from '../sizing/cpu-count.js';
import { resolveScaler, type Scaler } from '../sizing/scaler.js';
import { InvalidOptionError } from '../api/errors.js';
import { capacity, duration, known, limit, nonNegativeInt, oneOf, plainObject, positive, positiveInt } from './validate-helpers.js';
import { resolvePlacement, resolveRateLimit, type Placement, type ResolvedRateLimit } from './controls.js';
import { createDeadLetterSink, type DeadLetterSink } from '../dead-letter/sinks.js';
import { overflowPolicies, type AnyPoolOptions, type CloseOptions, type Logger, type OverflowFunction, type OverflowPolicy, type PoolKind, type ResourceLimits, type RunOptions } from '../api/options.js';
import { collectTasks, type TaskFn } from '../runtime/collect-tasks.js';
import { resolveRetry, type RetryPolicy } from '../supervision/retry.js';
import type { TaskModule } from '../api/types.js';

export interface ResolvedPoolOptions {
  kind: PoolKind;
  /** The module's URL; for kind 'async' a label naming the in-process tasks. */
  moduleUrl: string;
  /** Kind 'async': the task functions, sorted by name (as a worker would list them). */
  tasks: [string, TaskFn][] | undefined;
  min: number;
  max: number;
  idleTimeoutMs: number;
  /** Adaptive sizing between min and max (size.scaler); undefined: grow on queue pressure up to max. */
  scaler: Scaler | undefined;
  /** CPUs available to this process, a cgroup quota included (see cpu-count.ts). */
  cpus: number;
  capacity: number;
  overflow: OverflowPolicy | OverflowFunction;
  /** `queue.maxWaiting`: calls that may wait for room at once (overflow 'wait'); past it QueueFullError. */
  maxWaiting: number;
  /** Priority points gained per millisecond of waiting (0: no aging). */
  agingRate: number;
  /** A token bucket on task starts (rateLimit); undefined: no limit. */
  rateLimit: ResolvedRateLimit | undefined;
  /** Process workers' niceness and CPU affinity (`worker`). */
  placement: Placement | undefined;
  retry: RetryPolicy;
  deadLetter: DeadLetterSink | undefined;
  saturation: { sampleMs: number; windowMs: number; afterMs: number; factor: number; latencyFactor: number };
  logger: Logger | undefined;
  /** URL of the per-worker setup module. */
  workerSetup: string | undefined;
  timeoutMs: number;
  queueTimeoutMs: number;
  abortGraceMs: number;
  /** How long a worker may take to become ready (module load, workerSetup, `sluice.init`), in ms; Infinity: no limit. */
  startTimeoutMs: number;
  resourceLimits: ResourceLimits | undefined;
  pipeline: number | 'auto';
  execArgv: string[] | undefined;
  env: Record<string, string | undefined> | undefined;
  name: string;
  clock: Clock;
  /** Structured-cloned to each worker's `sluice.init`. */
  workerData: unknown;
  supervision: ResolvedSupervision;
}

export interface ResolvedSupervision {
  heartbeat: { intervalMs: number; missedBeats: number; processReport: boolean } | undefined;
  recycle: { maxTasks: number; maxAgeMs: number; maxHeapBytes: number; maxRssBytes: number };
  restartIntensity: { maxRestarts: number; withinMs: number; backoffMs: number; maxBackoffMs: number; recoverAfterMs: number; maxBarrenRestarts: number } | undefined;
  circuitBreaker: { threshold: number; minVolume: number; windowCount: number; windowMs: number; coolDownMs: number; halfOpenTrials: number; scope: 'task' | 'pool' | 'both'; onOpen: 'reject' | 'dead-letter' } | undefined;
  quarantine: { factor: number; minErrorRate: number; minTasks: number; significance: number } | undefined;
  healthCheckMs: number;
  teardownTimeoutMs: number;
}

const KINDS: readonly PoolKind[] = ['thread', 'process', 'async'];
export const PRIORITY_MIN = -100;
export const PRIORITY_MAX = 100;
/** What `moduleUrl` says for kind 'async' (errors quote it). */
export const ASYNC_TASKS_LABEL = 'sluice:async-tasks';
/** Default concurrency limit of kind 'async'. */
export const ASYNC_DEFAULT_SIZE = 64;

function optional<T>(value: unknown, fallback: T, check: (v: unknown) => T): T {
  return value === undefined ? fallback : check(value);
}

function moduleUrl(value: unknown, option = 'module'): string {
  if (value instanceof URL) {
    if (value.protocol !== 'file:' && value.protocol !== 'data:') throw new InvalidOptionError(option, 'a file: URL or an absolute path', value.href);
    return value.href;
  }
  if (typeof value === 'string') {
    if (value.startsWith('file:') || value.startsWith('data:')) return value;
    if (isAbsolute(value)) return pathToFileURL(value).href;
    throw new InvalidOptionError(option, 'a file: URL or an absolute path (resolve relative paths with new URL(path, import.meta.url))', value);
  }
  throw new InvalidOptionError(option, 'a file: URL or an absolute path', value);
}

const KNOWN_POOL_OPTIONS = new Set([
  'kind', 'module', 'size', 'queue', 'timeoutMs', 'queueTimeoutMs', 'abortGraceMs', 'resourceLimits',
  'pipeline', 'execArgv', 'env', 'name', 'clock', 'retry', 'deadLetter', 'saturation', '__module', 'tasks',
  'logger', 'workerSetup', 'workerData', 'supervision', 'startTimeoutMs', 'rateLimit', 'worker',
]);
const QUEUE_OPTIONS = ['capacity', 'overflow', 'aging', 'maxWaiting'] as const;
/** `queue.maxWaiting` when not given: 10 × capacity, at least this. */
export const MIN_DEFAULT_MAX_WAITING = 1000;

function asyncTasks(value: unknown): [string, TaskFn][] {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || Array.isArray(value)) {
    throw new InvalidOptionError('tasks', 'an object of task functions', value);
  }
  const found = collectTasks(value as Record<string, unknown>);
  if (found.length === 0) throw new InvalidOptionError('tasks', 'an object with at least one function', value);
  return found;
}

/** Options that only some kinds understand: naming the kind in the error beats silently ignoring them. */
function checkKindOptions(kind: PoolKind, opts: Record<string, unknown>): void {
  if (kind === 'async') {
    if (opts.module !== undefined) throw new InvalidOptionError('module', "absent for kind 'async' (pass the functions as `tasks`)", opts.module);
    for (const key of ['resourceLimits', 'execArgv', 'env', 'workerSetup', 'workerData', 'startTimeoutMs'] as const) {
      if (opts[key] !== undefined) throw new InvalidOptionError(key, "absent for kind 'async' (its tasks run in this process)", opts[key]);
    }
    if (opts.pipeline !== undefined && opts.pipeline !== 1) throw new InvalidOptionError('pipeline', "absent or 1 for kind 'async' (size is the concurrency limit)", opts.pipeline);
    return;
  }
  if (opts.tasks !== undefined) throw new InvalidOptionError('tasks', `absent for kind '${kind}' (pass a worker module as \`module\`, or use kind 'async')`, opts.tasks);
  const queue = opts.queue as { overflow?: unknown } | undefined;
  if (queue !== null && typeof queue === 'object' && queue.overflow === 'caller-runs') {
    throw new InvalidOptionError('queue.overflow', `one of 'reject', 'wait', 'drop-oldest', 'drop-lowest-priority' or a function for kind '${kind}' ('caller-runs' runs tasks in the caller, which only kind 'async' can do)`, queue.overflow);
  }
  if (kind === 'process' && opts.resourceLimits !== null && typeof opts.resourceLimits === 'object') {
    for (const key of Object.keys(opts.resourceLimits)) {
      if (key !== 'maxOldGenerationSizeMb' && (opts.resourceLimits as Record<string, unknown>)[key] !== undefined) {
        throw new InvalidOptionError(`resourceLimits.${key}`, "absent for kind 'process' (only maxOldGenerationSizeMb maps to a Node flag)", (opts.resourceLimits as Record<string, unknown>)[key]);
      }
    }
  }
}

export function resolvePoolOptions<M extends TaskModule>(input: AnyPoolOptions<M>): ResolvedPoolOptions {
  const opts = plainObject('options', input);
  for (const key of Object.keys(opts)) {
    if (!KNOWN_POOL_OPTIONS.has(key)) throw new InvalidOptionError(key, `a known option (${[...KNOWN_POOL_OPTIONS].filter((k) => k !== '__module').join(', ')})`, `an unknown option "${key}"`);
  }
  const kind = optional(opts.kind, 'thread', (v) => oneOf('kind', v, KINDS));
  checkKindOptions(kind, opts);
  // An async task mostly waits, so its concurrency is not bounded by cores.
  // Other kinds size for the CPUs this process may use: a container's quota, not the host's cores.
  const cpus = availableCpus();
  const defaultSize = kind === 'async' ? ASYNC_DEFAULT_SIZE : cpus;
  let scaler: Scaler | undefined;
  let min: number;
  let max: number;
  let idleTimeoutMs = 30_000;
  const size = opts.size;
  if (size === undefined) {
    min = max = defaultSize;
  } else if (typeof size === 'number' || typeof size !== 'object' || size === null) {
    min = max = positiveInt('size', size);
    idleTimeoutMs = Infinity;
  } else {
    const s = plainObject('size', size);
    max = optional(s.max, defaultSize, (v) => positiveInt('size.max', v));
    min = optional(s.min, 0, (v) => nonNegativeInt('size.min', v));
    if (min > max) throw new InvalidOptionError('size.min', `at most size.max (${max})`, min);
    idleTimeoutMs = optional(s.idleTimeoutMs, 30_000, (v) => duration('size.idleTimeoutMs', v));
    for (const key of Object.keys(s)) {
      if (key !== 'min' && key !== 'max' && key !== 'idleTimeoutMs' && key !== 'scaler') throw new InvalidOptionError(`size.${key}`, 'a known option (min, max, idleTimeoutMs, scaler)', `an unknown option "${key}"`);
    }
    scaler = resolveScaler(s.scaler);
  }
  const queue = opts.queue === undefined ? {} : plainObject('queue', opts.queue);
  known('queue', queue, QUEUE_OPTIONS);
  const queueCapacity = optional(queue.capacity, 10_000, (v) => capacity('queue.capacity', v));
  const overflow = optional<OverflowPolicy | OverflowFunction>(queue.overflow, 'reject', (v) => (typeof v === 'function' ? (v as OverflowFunction) : oneOf('queue.overflow', v, overflowPolicies('async'))));
  if (queue.maxWaiting !== undefined && typeof overflow !== 'function' && overflow !== 'wait') {
    throw new InvalidOptionError('queue.maxWaiting', `absent unless queue.overflow is 'wait' or a function (with '${overflow}' no call waits for room)`, queue.maxWaiting);
  }
  const maxWaiting = optional(queue.maxWaiting, Math.max(10 * queueCapacity, MIN_DEFAULT_MAX_WAITING), (v) => limit('queue.maxWaiting', v));
  const pipeline = optional<number | 'auto'>(opts.pipeline, 'auto', (v) => {
    if (v === 'auto') return v;
    const n = positiveInt('pipeline', v);
    if (n > 256) throw new InvalidOptionError('pipeline', "'auto' or an integer from 1 to 256", v);
    return n;
  });
  let resourceLimits: ResourceLimits | undefined;
  if (opts.resourceLimits !== undefined) {
    const r = plainObject('resourceLimits', opts.resourceLimits);
    resourceLimits = {};
    for (const key of ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const) {
      if (r[key] !== undefined) resourceLimits[key] = positiveInt(`resourceLimits.${key}`, r[key]);
    }
  }
  const execArgv = optional<string[] | undefined>(opts.execArgv, undefined, (v) => {
    if (!Array.isArray(v) || !v.every((a) => typeof a === 'string')) throw new InvalidOptionError('execArgv', 'an array of strings', v);
    if (kind === 'thread') checkThreadExecArgv(v);
    return v;
  });
  const clock = optional<Clock>(opts.clock, systemClock, (v) => {
    const c = v as Partial<Clock>;
    if (typeof c !== 'object' || c === null || typeof c.now !== 'function' || typeof c.setTimeout !== 'function' || typeof c.clearTimeout !== 'function') {
      throw new InvalidOptionError('clock', 'an object with now(), setTimeout() and clearTimeout()', v);
    }
    return c as Clock;
  });
  const tasks = kind === 'async' ? asyncTasks(opts.tasks) : undefined;
  const resolved: Omit<ResolvedPoolOptions, 'deadLetter'> = {
    kind,
    moduleUrl: kind === 'async' ? ASYNC_TASKS_LABEL : moduleUrl(opts.module),
    tasks,
    min,
    max,
    idleTimeoutMs,
    scaler,
    cpus,
    capacity: queueCapacity,
    overflow,
    maxWaiting,
    agingRate: agingRate(queue.aging),
    retry: resolveRetry('retry', opts.retry),
    saturation: saturation(opts.saturation),
    logger: optional<Logger | undefined>(opts.logger, undefined, (v) => {
      const l = v as Partial<Logger> | null;
      if (l === null || typeof l !== 'object' || !(['debug', 'info', 'warn', 'error'] as const).every((m) => typeof l[m] === 'function')) {
        throw new InvalidOptionError('logger', 'a pino-compatible logger with debug(), info(), warn() and error()', v);
      }
      return l as Logger;
    }),
    workerSetup: opts.workerSetup === undefined ? undefined : moduleUrl(opts.workerSetup, 'workerSetup'),
    timeoutMs: optional(opts.timeoutMs, Infinity, (v) => duration('timeoutMs', v)),
    queueTimeoutMs: optional(opts.queueTimeoutMs, Infinity, (v) => duration('queueTimeoutMs', v)),
    abortGraceMs: optional(opts.abortGraceMs, 1000, (v) => duration('abortGraceMs', v)),
    startTimeoutMs: optional(opts.startTimeoutMs, 30_000, (v) => positive('startTimeoutMs', v, 'milliseconds (or Infinity)')),
    resourceLimits,
    pipeline: kind === 'async' ? 1 : pipeline,
    execArgv,
    env: optional(opts.env, undefined, (v) => plainObject('env', v) as Record<string, string | undefined>),
    name: optional(opts.name, 'sluice', (v) => {
      if (typeof v !== 'string' || v.length === 0) throw new InvalidOptionError('name', 'a non-empty string', v);
      return v;
    }),
    clock,
    workerData: opts.workerData,
    supervision: supervision(opts.supervision, kind),
    rateLimit: resolveRateLimit(opts.rateLimit),
    placement: resolvePlacement(opts.worker, kind),
  };
  // Last: a file sink opens its file, which no later mistake should leave open.
  return { ...resolved, deadLetter: createDeadLetterSink(opts.deadLetter) };
}

/** Which `resourceLimits` field replaces a V8 heap flag a thread refuses (names with dashes). */
const HEAP_FLAG_LIMITS: Record<string, keyof ResourceLimits> = {
  '--max-old-space-size': 'maxOldGenerationSizeMb',
  '--max-young-generation-size': 'maxYoungGenerationSizeMb',
  '--max-semi-space-size': 'maxYoungGenerationSizeMb',
  '--stack-size': 'stackSizeMb',
};

/**
 * Node refuses V8 and process-wide flags (`--max-old-space-size`,
 * `--expose-gc`...) for a worker thread, and unknown flags too. Ask Node
 * itself which it refuses, without starting a thread: the Worker
 * constructor checks `execArgv` first and throws
 * ERR_WORKER_INVALID_EXEC_ARGV; given flags it accepts, it then fails to
 * clone the probe's `workerData` (a symbol) before it starts the thread. If
 * some Node version ever starts one anyway, it runs an empty script and is
 * terminated at once.
 */
function checkThreadExecArgv(argv: string[]): void {
  if (argv.length === 0) return;
  let refused: string[] | undefined;
  try {
    const probe = new Worker('', { eval: true, execArgv: argv, workerData: Symbol('sluice execArgv probe'), stdout: true, stderr: true });
    probe.unref();
    void probe.terminate();
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return;
    const list = /flags?: (.*)$/.exec((err as Error).message)?.[1];
    refused = list === undefined ? [] : list.split(/,\s*/).map((f) => f.trim()).filter((f) => f.length > 0);
  }
  if (refused === undefined) return;
  const hints: string[] = [];
  const others: string[] = [];
  for (const flag of refused) {
    const name = (flag.includes('=') ? flag.slice(0, flag.indexOf('=')) : flag).replaceAll('_', '-');
    const field = HEAP_FLAG_LIMITS[name];
    if (field !== undefined) hints.push(`resourceLimits.${field} instead of ${flag}`);
    else others.push(flag);
  }
  if (others.length > 0) hints.push(`kind 'process' for ${others.join(', ')}`);
  throw new InvalidOptionError(
    'execArgv',
    `flags a worker thread accepts for kind 'thread' (Node refuses V8 and process-wide flags for threads: use ${hints.join('; use ')})`,
    refused.length === 0 ? argv : refused.length === 1 ? refused[0] : refused,
  );
}

function positiveMs(option: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0)) throw new InvalidOptionError(option, 'a positive number of milliseconds', v);
  return v;
}

function rate(option: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0) || v > 1) throw new InvalidOptionError(option, 'a number above 0 and at most 1', v);
  return v;
}

/** `true` means the defaults, `false`/absent means off. */
function toggle(option: string, v: unknown): Record<string, unknown> | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return {};
  return plainObject(option, v);
}

const MIB = 1024 * 1024;

function supervision(value: unknown, kind: PoolKind): ResolvedSupervision {
  const o = value === undefined ? {} : plainObject('supervision', value);
  known('supervision', o, ['heartbeat', 'recycle', 'restartIntensity', 'circuitBreaker', 'quarantine', 'healthCheckMs', 'teardownTimeoutMs']);
  const hb = toggle('supervision.heartbeat', o.heartbeat);
  if (hb !== undefined && kind === 'async') throw new InvalidOptionError('supervision.heartbeat', "absent for kind 'async' (its tasks share the pool's event loop; use timeoutMs)", o.heartbeat);
  if (hb !== undefined) known('supervision.heartbeat', hb, ['intervalMs', 'missedBeats', 'processReport']);
  const rc = o.recycle === undefined ? {} : plainObject('supervision.recycle', o.recycle);
  known('supervision.recycle', rc, ['maxTasks', 'maxAgeMs', 'maxHeapMb', 'maxRssMb']);
  if (rc.maxHeapMb !== undefined && kind !== 'thread') throw new InvalidOptionError('supervision.recycle.maxHeapMb', `absent for kind '${kind}' (use maxRssMb for processes)`, rc.maxHeapMb);
  if (rc.maxRssMb !== undefined && kind !== 'process') throw new InvalidOptionError('supervision.recycle.maxRssMb', `absent for kind '${kind}' (threads share one process: use maxHeapMb)`, rc.maxRssMb);
  if (rc.maxHeapMb !== undefined && hb === undefined) throw new InvalidOptionError('supervision.recycle.maxHeapMb', 'set together with supervision.heartbeat (heap is reported with each beat)', rc.maxHeapMb);
  const ri = o.restartIntensity === false ? undefined : o.restartIntensity === undefined ? {} : plainObject('supervision.restartIntensity', o.restartIntensity);
  if (ri !== undefined) known('supervision.restartIntensity', ri, ['maxRestarts', 'withinMs', 'backoffMs', 'maxBackoffMs', 'recoverAfterMs', 'maxBarrenRestarts']);
  const cb = toggle('supervision.circuitBreaker', o.circuitBreaker);
  let windowCount = 100;
  let windowMs = 0;
  if (cb !== undefined) {
    known('supervision.circuitBreaker', cb, ['threshold', 'minVolume', 'window', 'coolDownMs', 'halfOpenTrials', 'scope', 'onOpen']);
    if (cb.window !== undefined) {
      const w = plainObject('supervision.circuitBreaker.window', cb.window);
      if (w.count !== undefined && w.ms === undefined) windowCount = positiveInt('supervision.circuitBreaker.window.count', w.count);
      else if (w.ms !== undefined && w.count === undefined) {
        windowMs = positiveMs('supervision.circuitBreaker.window.ms', w.ms);
        windowCount = 0;
      } else throw new InvalidOptionError('supervision.circuitBreaker.window', '{ count } or { ms }', cb.window);
    }
  }
  const q = toggle('supervision.quarantine', o.quarantine);
  if (q !== undefined) known('supervision.quarantine', q, ['factor', 'minErrorRate', 'minTasks', 'significance']);
  return {
    heartbeat:
      hb === undefined
        ? undefined
        : {
            intervalMs: optional(hb.intervalMs, 1000, (v) => positiveMs('supervision.heartbeat.intervalMs', v)),
            missedBeats: optional(hb.missedBeats, 5, (v) => positiveInt('supervision.heartbeat.missedBeats', v)),
            processReport: optional(hb.processReport, false, (v) => {
              if (typeof v !== 'boolean') throw new InvalidOptionError('supervision.heartbeat.processReport', 'a boolean', v);
              return v;
            }),
          },
    recycle: {
      maxTasks: optional(rc.maxTasks, Infinity, (v) => capacity('supervision.recycle.maxTasks', v)),
      maxAgeMs: optional(rc.maxAgeMs, Infinity, (v) => positiveMs('supervision.recycle.maxAgeMs', v)),
      maxHeapBytes: optional(rc.maxHeapMb, Infinity, (v) => positive('supervision.recycle.maxHeapMb', v, 'MiB') * MIB),
      maxRssBytes: optional(rc.maxRssMb, Infinity, (v) => positive('supervision.recycle.maxRssMb', v, 'MiB') * MIB),
    },
    restartIntensity:
      ri === undefined
        ? undefined
        : {
            maxRestarts: optional(ri.maxRestarts, 100, (v) => nonNegativeInt('supervision.restartIntensity.maxRestarts', v)),
            withinMs: optional(ri.withinMs, 10_000, (v) => positiveMs('supervision.restartIntensity.withinMs', v)),
            backoffMs: optional(ri.backoffMs, 1000, (v) => duration('supervision.restartIntensity.backoffMs', v)),
            maxBackoffMs: optional(ri.maxBackoffMs, 30_000, (v) => duration('supervision.restartIntensity.maxBackoffMs', v)),
            recoverAfterMs: optional(ri.recoverAfterMs, 1000, (v) => duration('supervision.restartIntensity.recoverAfterMs', v)),
            maxBarrenRestarts: optional(ri.maxBarrenRestarts, 5, (v) => nonNegativeInt('supervision.restartIntensity.maxBarrenRestarts', v)),
          },
    circuitBreaker:
      cb === undefined
        ? undefined
        : {
            threshold: optional(cb.threshold, 0.05, (v) => rate('supervision.circuitBreaker.threshold', v)),
            minVolume: optional(cb.minVolume, 20, (v) => positiveInt('supervision.circuitBreaker.minVolume', v)),
            windowCount,
            windowMs,
            coolDownMs: optional(cb.coolDownMs, 5000, (v) => duration('supervision.circuitBreaker.coolDownMs', v)),
            halfOpenTrials: optional(cb.halfOpenTrials, 3, (v) => positiveInt('supervision.circuitBreaker.halfOpenTrials', v)),
            scope: optional(cb.scope, 'task' as const, (v) => oneOf('supervision.circuitBreaker.scope', v, ['task', 'pool', 'both'] as const)),
            onOpen: optional(cb.onOpen, 'reject' as const, (v) => oneOf('supervision.circuitBreaker.onOpen', v, ['reject', 'dead-letter'] as const)),
          },
    quarantine:
      q === undefined
        ? undefined
        : {
            factor: optional(q.factor, 5, (v) => {
              if (typeof v !== 'number' || !(v >= 1) || v === Infinity) throw new InvalidOptionError('supervision.quarantine.factor', 'a finite number of at least 1', v);
              return v;
            }),
            minErrorRate: optional(q.minErrorRate, 0.2, (v) => rate('supervision.quarantine.minErrorRate', v)),
            minTasks: optional(q.minTasks, 3, (v) => {
              // A worker is judged on its last RECORD_LENGTH (64) outcomes: more could never be reached.
              if (positiveInt('supervision.quarantine.minTasks', v) > 64) throw new InvalidOptionError('supervision.quarantine.minTasks', 'an integer from 1 to 64 (a worker is judged on its last 64 outcomes)', v);
              return v as number;
            }),
            significance: optional(q.significance, 1e-4, (v) => {
              if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new InvalidOptionError('supervision.quarantine.significance', 'a probability above 0 and below 1', v);
              return v;
            }),
          },
    healthCheckMs: optional(o.healthCheckMs, 10_000, (v) => positiveMs('supervision.healthCheckMs', v)),
    teardownTimeoutMs: optional(o.teardownTimeoutMs, 5000, (v) => duration('supervision.teardownTimeoutMs', v)),
  };
}

function agingRate(value: unknown): number {
  if (value === false) return 0;
  if (value === undefined) return 1 / 1000;
  const a = plainObject('queue.aging', value);
  const everyMs = optional(a.everyMs, 1000, (v) => {
    if (typeof v !== 'number' || !(v > 0) || v === Infinity) throw new InvalidOptionError('queue.aging.everyMs', 'a positive number of milliseconds', v);
    return v;
  });
  const step = optional(a.step, 1, (v) => {
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity) throw new InvalidOptionError('queue.aging.step', 'a non-negative number', v);
    return v;
  });
  return step / everyMs;
}

function saturation(value: unknown): ResolvedPoolOptions['saturation'] {
  const o = value === undefined ? {} : plainObject('saturation', value);
  const positive = (name: string) => (v: unknown) => {
    if (typeof v !== 'number' || !(v > 0) || v === Infinity) throw new InvalidOptionError(`saturation.${name}`, 'a positive number', v);
    return v;
  };
  const sampleMs = optional(o.sampleMs, 1000, positive('sampleMs'));
  const windowMs = optional(o.windowMs, 60_000, positive('windowMs'));
  if (windowMs < sampleMs) throw new InvalidOptionError('saturation.windowMs', `at least saturation.sampleMs (${sampleMs})`, windowMs);
  return {
    sampleMs,
    windowMs,
    afterMs: optional(o.afterMs, 5000, (v) => duration('saturation.afterMs', v)),
    factor: optional(o.factor, 2, positive('factor')),
    latencyFactor: optional(o.latencyFactor, 2, positive('latencyFactor')),
  };
}

export function checkPriority(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < PRIORITY_MIN || value > PRIORITY_MAX) {
    throw new InvalidOptionError('priority', `an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}`, value);
  }
  return value;
}

/** Per-call options; the common case (no options) allocates nothing. Options that are not an object (null, a number, a string) are refused as `options`. */
export function checkRunOptions(opts: RunOptions): void {
  plainObject('options', opts);
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new InvalidOptionError('signal', 'an AbortSignal', opts.signal);
  if (opts.timeoutMs !== undefined) duration('timeoutMs', opts.timeoutMs);
  if (opts.deadlineMs !== undefined) duration('deadlineMs', opts.deadlineMs);
  if (opts.queueTimeoutMs !== undefined) duration('queueTimeoutMs', opts.queueTimeoutMs);
  if (opts.transfer !== undefined && !Array.isArray(opts.transfer)) throw new InvalidOptionError('transfer', 'an array of transferable objects', opts.transfer);
  if (opts.correlationId !== undefined && typeof opts.correlationId !== 'string') throw new InvalidOptionError('correlationId', 'a string', opts.correlationId);
  if (opts.priority !== undefined) checkPriority(opts.priority);
  if (opts.traceContext !== undefined) {
    const t = plainObject('traceContext', opts.traceContext);
    if (typeof t.traceparent !== 'string') throw new InvalidOptionError('traceContext.traceparent', 'a W3C traceparent string', t.traceparent);
    if (t.tracestate !== undefined && typeof t.tracestate !== 'string') throw new InvalidOptionError('traceContext.tracestate', 'a string', t.tracestate);
  }
  if (opts.stallMs !== undefined) duration('stallMs', opts.stallMs);
  if (opts.blocking !== undefined && typeof opts.blocking !== 'boolean') throw new InvalidOptionError('blocking', 'a boolean', opts.blocking);
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new InvalidOptionError('onProgress', 'a function', opts.onProgress);
  if (opts.queueRetry !== undefined) {
    const q = plainObject('queueRetry', opts.queueRetry);
    duration('queueRetry.timeoutMs', q.timeoutMs);
    if (q.baseMs !== undefined) duration('queueRetry.baseMs', q.baseMs);
    if (q.maxMs !== undefined) duration('queueRetry.maxMs', q.maxMs);
  }
}

export function checkCloseOptions(opts: CloseOptions | undefined): { timeoutMs: number; cancelQueued: boolean } {
  if (opts === undefined) return { timeoutMs: 30_000, cancelQueued: false };
  plainObject('close options', opts);
  const cancelQueued = optional(opts.cancelQueued, false, (v) => {
    if (typeof v !== 'boolean') throw new InvalidOptionError('cancelQueued', 'a boolean', v);
    return v;
  });
  return { timeoutMs: optional(opts.timeoutMs, 30_000, (v) => duration('timeoutMs', v)), cancelQueued };
}
