/**
 * Option validation. Each check names the option, what was expected and what
 * was got, on one template:
 *   `size must be a positive integer, got -1 (number)`
 * Checks are small reusable predicates rather than a chain of ad-hoc ifs.
 */

import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock, type Clock } from './clock.js';
import { InvalidOptionError } from './errors.js';
import type { CloseOptions, OverflowPolicy, PoolKind, PoolOptions, ResourceLimits, RunOptions } from './options.js';
import type { TaskModule } from './types.js';

export interface ResolvedPoolOptions {
  kind: PoolKind;
  moduleUrl: string;
  min: number;
  max: number;
  idleTimeoutMs: number;
  capacity: number;
  overflow: OverflowPolicy;
  timeoutMs: number;
  queueTimeoutMs: number;
  abortGraceMs: number;
  resourceLimits: ResourceLimits | undefined;
  pipeline: number | 'auto';
  execArgv: string[] | undefined;
  env: Record<string, string | undefined> | undefined;
  name: string;
  clock: Clock;
}

const KINDS: readonly PoolKind[] = ['thread'];
const OVERFLOWS: readonly OverflowPolicy[] = ['reject', 'wait'];

export function positiveInt(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new InvalidOptionError(option, 'a positive integer', value);
  return value;
}

export function nonNegativeInt(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new InvalidOptionError(option, 'a non-negative integer', value);
  return value;
}

/** Milliseconds: a non-negative number, `Infinity` allowed. */
export function duration(option: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new InvalidOptionError(option, 'a non-negative number of milliseconds', value);
  return value;
}

/** A positive integer or `Infinity`. */
export function capacity(option: string, value: unknown): number {
  if (value === Infinity) return value;
  return positiveInt(option, value);
}

export function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionError(option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

export function plainObject(option: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError(option, 'an object', value);
  return value as Record<string, unknown>;
}

function optional<T>(value: unknown, fallback: T, check: (v: unknown) => T): T {
  return value === undefined ? fallback : check(value);
}

function moduleUrl(value: unknown): string {
  if (value instanceof URL) {
    if (value.protocol !== 'file:' && value.protocol !== 'data:') throw new InvalidOptionError('module', 'a file: URL or an absolute path', value.href);
    return value.href;
  }
  if (typeof value === 'string') {
    if (value.startsWith('file:') || value.startsWith('data:')) return value;
    if (isAbsolute(value)) return pathToFileURL(value).href;
    throw new InvalidOptionError('module', 'a file: URL or an absolute path (resolve relative paths with new URL(path, import.meta.url))', value);
  }
  throw new InvalidOptionError('module', 'a file: URL or an absolute path', value);
}

const KNOWN_POOL_OPTIONS = new Set([
  'kind', 'module', 'size', 'queue', 'timeoutMs', 'queueTimeoutMs', 'abortGraceMs', 'resourceLimits',
  'pipeline', 'execArgv', 'env', 'name', 'clock', '__module',
]);

export function resolvePoolOptions<M extends TaskModule>(input: PoolOptions<M>): ResolvedPoolOptions {
  const opts = plainObject('options', input);
  for (const key of Object.keys(opts)) {
    if (!KNOWN_POOL_OPTIONS.has(key)) throw new InvalidOptionError(key, `a known option (${[...KNOWN_POOL_OPTIONS].filter((k) => k !== '__module').join(', ')})`, `an unknown option "${key}"`);
  }
  const kind = optional(opts.kind, 'thread', (v) => oneOf('kind', v, KINDS));
  const cpus = availableParallelism();
  let min: number;
  let max: number;
  let idleTimeoutMs = 30_000;
  const size = opts.size;
  if (size === undefined) {
    min = max = cpus;
  } else if (typeof size === 'number' || typeof size !== 'object' || size === null) {
    min = max = positiveInt('size', size);
    idleTimeoutMs = Infinity;
  } else {
    const s = plainObject('size', size);
    max = optional(s.max, cpus, (v) => positiveInt('size.max', v));
    min = optional(s.min, 0, (v) => nonNegativeInt('size.min', v));
    if (min > max) throw new InvalidOptionError('size.min', `at most size.max (${max})`, min);
    idleTimeoutMs = optional(s.idleTimeoutMs, 30_000, (v) => duration('size.idleTimeoutMs', v));
  }
  const queue = opts.queue === undefined ? {} : plainObject('queue', opts.queue);
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
    return v;
  });
  const clock = optional<Clock>(opts.clock, systemClock, (v) => {
    const c = v as Partial<Clock>;
    if (typeof c !== 'object' || c === null || typeof c.now !== 'function' || typeof c.setTimeout !== 'function' || typeof c.clearTimeout !== 'function') {
      throw new InvalidOptionError('clock', 'an object with now(), setTimeout() and clearTimeout()', v);
    }
    return c as Clock;
  });
  return {
    kind,
    moduleUrl: moduleUrl(opts.module),
    min,
    max,
    idleTimeoutMs,
    capacity: optional(queue.capacity, 10_000, (v) => capacity('queue.capacity', v)),
    overflow: optional(queue.overflow, 'reject', (v) => oneOf('queue.overflow', v, OVERFLOWS)),
    timeoutMs: optional(opts.timeoutMs, Infinity, (v) => duration('timeoutMs', v)),
    queueTimeoutMs: optional(opts.queueTimeoutMs, Infinity, (v) => duration('queueTimeoutMs', v)),
    abortGraceMs: optional(opts.abortGraceMs, 1000, (v) => duration('abortGraceMs', v)),
    resourceLimits,
    pipeline,
    execArgv,
    env: optional(opts.env, undefined, (v) => plainObject('env', v) as Record<string, string | undefined>),
    name: optional(opts.name, 'sluice', (v) => {
      if (typeof v !== 'string' || v.length === 0) throw new InvalidOptionError('name', 'a non-empty string', v);
      return v;
    }),
    clock,
  };
}

/** Per-call options; the common case (no options) allocates nothing. */
export function checkRunOptions(opts: RunOptions): void {
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new InvalidOptionError('signal', 'an AbortSignal', opts.signal);
  if (opts.timeoutMs !== undefined) duration('timeoutMs', opts.timeoutMs);
  if (opts.deadlineMs !== undefined) duration('deadlineMs', opts.deadlineMs);
  if (opts.queueTimeoutMs !== undefined) duration('queueTimeoutMs', opts.queueTimeoutMs);
  if (opts.transfer !== undefined && !Array.isArray(opts.transfer)) throw new InvalidOptionError('transfer', 'an array of transferable objects', opts.transfer);
  if (opts.correlationId !== undefined && typeof opts.correlationId !== 'string') throw new InvalidOptionError('correlationId', 'a string', opts.correlationId);
}

export function checkCloseOptions(opts: CloseOptions | undefined): number {
  if (opts === undefined) return 30_000;
  plainObject('close options', opts);
  return optional(opts.timeoutMs, 30_000, (v) => duration('timeoutMs', v));
}
