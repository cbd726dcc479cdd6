/**
 * How sluice's notions map onto BullMQ's: priorities, retry policy, the job
 * payload, and the JSON check every payload passes before it reaches Redis.
 * Pure functions; docs/bullmq.md has the table.
 */

import type { EncodedError } from '../wire/error-codec.js';
import { InvalidOptionError, SerializationError } from '../api/errors.js';
import type { RetryOptions } from '../supervision/retry.js';

/** BullMQ's custom backoff type under which sluice's retry policy computes delays (see serve.ts). */
export const SLUICE_BACKOFF = 'sluice';

/** Name of the dead-letter queue of `queue`. */
export function deadLetterQueueName(queue: string): string {
  return `${queue}-dlq`;
}

/**
 * sluice priority -100..100 (higher first) to BullMQ priority 1..201 (lower
 * first). Always set, 0 included: BullMQ runs jobs *without* a priority ahead
 * of every prioritised one, so leaving default-priority jobs unprioritised
 * would let them jump the queue.
 */
export function toBullPriority(priority: number | undefined): number {
  const p = priority ?? 0;
  if (!Number.isInteger(p) || p < -100 || p > 100) throw new InvalidOptionError('priority', 'an integer from -100 to 100', priority);
  return 101 - p;
}

export function fromBullPriority(bull: number | undefined): number {
  return bull === undefined || bull === 0 ? 0 : 101 - bull;
}

/** W3C trace context carried with the job (https://www.w3.org/TR/trace-context/). */
export interface TraceContext {
  traceparent?: string;
  tracestate?: string;
}

/** The retry policy's shape on the wire: everything but the functions. */
export interface WireRetry {
  backoff: 'exponential' | 'fixed';
  baseMs: number;
  maxMs: number;
  jitter: 'full' | 'none';
}

/** The data of every job sluice puts on a queue. `v` versions the shape. */
export interface JobData {
  v: 1;
  input: unknown;
  correlationId: string;
  timeoutMs?: number;
  retry?: WireRetry;
  trace?: TraceContext;
  /** The encoded error of each failed attempt so far, oldest first. */
  errors?: EncodedError[];
}

/**
 * Whether a job's data is sluice's envelope (a job from createClient) rather
 * than a plain BullMQ job, whose data is the task's input as it stands.
 * `input` is not required: JSON drops an `undefined` input's key.
 */
export function isEnvelope(data: unknown): data is JobData {
  return typeof data === 'object' && data !== null && (data as { v?: unknown }).v === 1 && typeof (data as { correlationId?: unknown }).correlationId === 'string';
}

/** What a dead-letter job holds (the data of a job on `<queue>-dlq`). */
export interface BullDeadLetter {
  queue: string;
  jobId: string;
  taskName: string;
  input: unknown;
  correlationId: string;
  reason: 'failed';
  error: EncodedError;
  errors: EncodedError[];
  attempts: number;
  submittedAt: number;
  finishedAt: number;
  /** Options to submit it again with (redrive). */
  priority: number;
  maxAttempts: number;
  retry?: WireRetry;
  timeoutMs?: number;
  trace?: TraceContext;
  /** A plain BullMQ job (not from createClient): `input` is its data as it was, redriven as a plain job with `backoff`. */
  plain?: true;
  /** The plain job's own BullMQ `backoff` option. */
  backoff?: number | { type: string; delay?: number; jitter?: number };
}

export type BackoffOption = 'exponential' | 'fixed' | { type?: 'exponential' | 'fixed'; baseMs?: number; maxMs?: number; jitter?: 'full' | 'none' };

/** The submit options `attempts` and `backoff` as sluice's RetryOptions (validated). */
export function toWireRetry(backoff: BackoffOption | undefined): WireRetry {
  const o = typeof backoff === 'string' || backoff === undefined ? { type: backoff } : backoff;
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('backoff', "'exponential', 'fixed' or { type, baseMs, maxMs, jitter }", backoff);
  const type = o.type ?? 'exponential';
  if (type !== 'exponential' && type !== 'fixed') throw new InvalidOptionError('backoff.type', "'exponential' or 'fixed'", type);
  const jitter = o.jitter ?? 'full';
  if (jitter !== 'full' && jitter !== 'none') throw new InvalidOptionError('backoff.jitter', "'full' or 'none'", jitter);
  const ms = (name: string, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidOptionError(`backoff.${name}`, 'a non-negative number of milliseconds', v);
    return v;
  };
  return { backoff: type, baseMs: ms('baseMs', o.baseMs, 100), maxMs: ms('maxMs', o.maxMs, 30_000), jitter };
}

export function wireRetryToOptions(w: WireRetry | undefined): RetryOptions | undefined {
  return w === undefined ? undefined : { backoff: w.backoff, baseMs: w.baseMs, maxMs: w.maxMs, jitter: w.jitter };
}

/**
 * Refuses what JSON (BullMQ's storage format) would silently change or
 * cannot hold: BigInt, cycles, functions, symbols, NaN and ±Infinity,
 * class instances (Map, Set, Date, typed arrays...). Throws SerializationError
 * whose cause names the offending path.
 */
export function assertJsonSafe(taskName: string, direction: 'input' | 'output', value: unknown): void {
  const problem = findProblem(value, '$', new Set());
  if (problem !== undefined) {
    throw new SerializationError(taskName, direction, new TypeError(`${problem} (job payloads are stored in Redis as JSON)`));
  }
}

function findProblem(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}, which JSON turns into null`;
    case 'bigint':
      return `${path} is a BigInt, which JSON cannot hold`;
    case 'function':
    case 'symbol':
      return `${path} is a ${typeof value}, which JSON cannot hold`;
  }
  if (value === null) return undefined;
  const obj = value as object;
  if (seen.has(obj)) return `${path} is a circular reference`;
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (Array.isArray(obj)) {
    seen.add(obj);
    for (let i = 0; i < obj.length; i++) {
      const p = findProblem(obj[i] as unknown, `${path}[${i}]`, seen);
      if (p !== undefined) return p;
    }
    seen.delete(obj);
    return undefined;
  }
  if (proto !== Object.prototype && proto !== null) {
    const name = (obj.constructor as { name?: string } | undefined)?.name ?? 'object';
    return `${path} is a ${name}, which JSON would not restore`;
  }
  seen.add(obj);
  for (const [k, v] of Object.entries(obj)) {
    const p = findProblem(v, `${path}.${k}`, seen);
    if (p !== undefined) return p;
  }
  seen.delete(obj);
  return undefined;
}
