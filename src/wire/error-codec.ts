/**
 * Carries errors across the worker boundary intact: class name, message,
 * stack, `code`, the `cause` chain and own enumerable properties.
 *
 * Structured clone alone keeps only the message and stack of built-in error
 * types and drops the class, so a user's `class NotFound extends Error` would
 * arrive as a plain Error. Instead the worker encodes a plain record, and the
 * parent rebuilds it: as the registered class when one is registered under
 * that name (see `registerError`), as the built-in class for built-ins, and as
 * an Error whose `name` says the original class otherwise.
 *
 * Buffers in its own properties (or a thrown non-Error value) arrive as
 * Buffers, within the depth wire/values.ts looks: structured clone would
 * make them Uint8Arrays, on processes too (`cloneable` clones them here).
 */

import * as sluiceErrors from '../api/errors.js';
import { SluiceError, TaskFailedError } from '../api/errors.js';
import { bufferPaths, reviveBuffers, type BufferPath } from './values.js';

export interface EncodedError {
  /** true: an Error (or subclass); false: a thrown non-Error value in `value`. */
  isError: boolean;
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown> | undefined;
  cause: EncodedError | undefined;
  hasCause: boolean;
  value?: unknown;
  /** Where `props` and `value` held Buffers, from this record (`['props', key, ...]`, `['value', ...]`: BufferPaths of wire/values.ts, spelt out so the type stays internal). */
  buffers?: (string | number)[][];
}

/** Adds the Buffers of `raw` (a value about to be cloned into `enc[field]...`) to `into`. */
function noteBuffers(raw: unknown, prefix: BufferPath, into: BufferPath[] | undefined): BufferPath[] | undefined {
  const paths = bufferPaths(raw);
  if (paths === null) return into;
  into ??= [];
  for (const p of paths) into.push([...prefix, ...p]);
  return into;
}

type ErrorClass = new (...args: never[]) => Error;

const registry = new Map<string, ErrorClass>();
const builtins: Record<string, ErrorClass> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  // sluice's own errors cross boundaries too (a task that ran a pool of its own, sluice/bullmq).
  ...Object.fromEntries(
    (Object.values(sluiceErrors) as unknown[])
      .filter((v): v is ErrorClass => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error)
      .map((c) => [c.name, c]),
  ),
};

/**
 * Makes errors of `cls` arrive in the parent as real instances of `cls`
 * (`instanceof` works). Register the class in the process that calls
 * `pool.run()`; the worker needs nothing. Classes are matched by `name`
 * (pass `name` when two classes share one).
 */
export function registerError(cls: ErrorClass, name: string = cls.name): void {
  if (typeof cls !== 'function') throw new TypeError('registerError expects an Error class');
  registry.set(name, cls);
}

const MAX_DEPTH = 8;

export function encodeError(err: unknown, depth = 0): EncodedError {
  if (!(err instanceof Error)) {
    const value = cloneable(err);
    const enc: EncodedError = { isError: false, name: 'NonError', message: '', stack: undefined, props: undefined, cause: undefined, hasCause: false, value };
    const buffers = typeof value === 'object' ? noteBuffers(err, ['value'], undefined) : undefined;
    if (buffers !== undefined) enc.buffers = buffers;
    return enc;
  }
  let props: Record<string, unknown> | undefined;
  let buffers: BufferPath[] | undefined;
  for (const key of Object.keys(err)) {
    if (key === 'cause' || key === 'stack' || key === 'message') continue;
    props ??= {};
    const raw = (err as unknown as Record<string, unknown>)[key];
    const copy = cloneable(raw);
    props[key] = copy;
    // Only where the copy kept the value's shape (not a description in its place).
    if (typeof copy === 'object') buffers = noteBuffers(raw, ['props', key], buffers);
  }
  // `code` is often a getter or non-enumerable own property on Node's errors.
  const code = (err as { code?: unknown }).code;
  if (code !== undefined && (props === undefined || !('code' in props))) {
    props ??= {};
    props.code = cloneable(code);
  }
  const hasCause = 'cause' in err && depth < MAX_DEPTH;
  const enc: EncodedError = {
    isError: true,
    name: err.name,
    message: err.message,
    stack: err.stack,
    props,
    hasCause,
    cause: hasCause ? encodeError(err.cause, depth + 1) : undefined,
  };
  if (buffers !== undefined) enc.buffers = buffers;
  return enc;
}

export function decodeError(enc: EncodedError, taskName: string): Error {
  if (!enc.isError) {
    if (enc.buffers !== undefined) reviveBuffers(enc, enc.buffers);
    return new TaskFailedError(taskName, enc.value);
  }
  return rebuild(enc);
}

function rebuild(enc: EncodedError): Error {
  // The record is this side's own copy: its Buffers are rebuilt in place.
  if (enc.buffers !== undefined) reviveBuffers(enc, enc.buffers);
  if (!enc.isError) return new TaskFailedError('(cause)', enc.value);
  const cls = registry.get(enc.name) ?? builtins[enc.name];
  // Object.create skips the constructor: a user's constructor may demand
  // arguments we cannot know, and must not run side effects here.
  const err = Object.create((cls ?? Error).prototype as object) as Error;
  Object.defineProperty(err, 'message', { value: enc.message, writable: true, configurable: true, enumerable: false });
  if (enc.stack !== undefined) Object.defineProperty(err, 'stack', { value: enc.stack, writable: true, configurable: true, enumerable: false });
  if (cls === undefined || (err.name !== enc.name && !(err instanceof SluiceError))) {
    Object.defineProperty(err, 'name', { value: enc.name, writable: true, configurable: true, enumerable: false });
  }
  if (enc.props) {
    for (const [k, v] of Object.entries(enc.props)) {
      if (k === 'name') continue;
      try {
        (err as unknown as Record<string, unknown>)[k] = v;
      } catch {
        Object.defineProperty(err, k, { value: v, writable: true, configurable: true, enumerable: true });
      }
    }
  }
  if (enc.hasCause && enc.cause) {
    Object.defineProperty(err, 'cause', { value: rebuild(enc.cause), writable: true, configurable: true, enumerable: false });
  }
  return err;
}

/** A value that survives structured clone: the value itself, or a string description. */
function cloneable(value: unknown): unknown {
  if (typeof value === 'symbol') return value.toString();
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
  if (typeof value === 'function') return `[Function ${(value as { name?: string }).name ?? 'anonymous'}]`;
  try {
    return structuredClone(value);
  } catch {
    try {
      return JSON.parse(JSON.stringify(value)) as unknown;
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
}
