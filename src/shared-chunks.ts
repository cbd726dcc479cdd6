/**
 * Data parallelism over one typed array: split it into ranges and run a task
 * on each range at once.
 *
 * - kind 'thread': the array must sit on a SharedArrayBuffer. Each task gets
 *   `{ array, start, end }` where `array` is a view of the same memory: it
 *   works in place and nothing is copied.
 * - kind 'async': the same, in this process; any typed array works.
 * - kind 'process': Node has no memory shared between processes, so each
 *   range is copied out to the worker and, when its task succeeds, copied
 *   back. The task must be wrapped in `chunkTask()` for the copy to come
 *   back; the task sees `start = 0` and `offset` = the range's start.
 *
 * A failed range does not fail the others: the result lists `ok` and
 * `failed` ranges, in array order.
 */

import { InvalidOptionError } from './api/errors.js';
import type { RunOptions } from './api/options.js';
import type { Pool } from './pool.js';
import type { TaskModule, TaskName, TaskOutput } from './api/types.js';
import { positiveInt } from './config/validate-helpers.js';

export type SharedTypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** What a chunk task receives: work on `array[start..end)`. */
export interface SharedRange<A extends SharedTypedArray = SharedTypedArray> {
  array: A;
  start: number;
  end: number;
  /** Where `start` lies in the caller's array (differs from `start` only for process workers, which get a copy). */
  offset: number;
}

export interface MapSharedOptions {
  /** Number of ranges. @default the pool's size */
  chunks?: number;
  /** Elements per range (instead of `chunks`). */
  chunkSize?: number;
  /** Passed to each `pool.run()` (signal, timeoutMs, deadlineMs...). */
  run?: Omit<RunOptions, 'transfer'>;
}

export interface RangeOk<R> {
  start: number;
  end: number;
  value: R;
}

export interface RangeFailure {
  start: number;
  end: number;
  error: unknown;
}

export interface MapSharedResult<R> {
  ok: RangeOk<R>[];
  failed: RangeFailure[];
}

const COPY_BACK = '__sluiceCopyBack';

interface CopyBackInput extends SharedRange {
  [COPY_BACK]: true;
}

interface CopyBackOutput {
  [COPY_BACK]: true;
  array: SharedTypedArray;
  value: unknown;
}

/**
 * The worker-side half: wrap a chunk task with it so process workers can
 * send their range back. For threads and async tasks it adds nothing.
 * `export const scale = chunkTask(({ array, start, end }) => { ... })`
 */
export function chunkTask<A extends SharedTypedArray, R>(fn: (range: SharedRange<A>, ctx?: unknown) => R | Promise<R>): (range: SharedRange<A>, ctx?: unknown) => R | Promise<R> {
  return (range, ctx) => {
    if ((range as Partial<CopyBackInput>)[COPY_BACK] !== true) return fn(range, ctx);
    const wrap = (value: R): R => ({ [COPY_BACK]: true, array: range.array, value }) as unknown as R;
    const out = fn(range, ctx);
    return out instanceof Promise ? out.then(wrap) : wrap(out);
  };
}

/** Splits `array` into ranges and runs task `name` on each in parallel. */
export async function mapShared<M extends TaskModule, K extends TaskName<M>>(
  pool: Pool<M>,
  name: K,
  array: SharedTypedArray,
  options: MapSharedOptions = {},
): Promise<MapSharedResult<TaskOutput<M, K>>> {
  if (!ArrayBuffer.isView(array) || array instanceof DataView) throw new InvalidOptionError('array', 'a typed array', array);
  const kind = pool.kind;
  if (kind === 'thread' && !(array.buffer instanceof SharedArrayBuffer)) {
    throw new InvalidOptionError('array', "a typed array on a SharedArrayBuffer for kind 'thread' (a plain ArrayBuffer would be copied, and the task's writes lost)", `a ${array.constructor.name} on an ArrayBuffer`);
  }
  const n = array.length;
  let size: number;
  if (options.chunkSize !== undefined) {
    if (options.chunks !== undefined) throw new InvalidOptionError('chunks', 'absent when chunkSize is given', options.chunks);
    size = positiveInt('chunkSize', options.chunkSize);
  } else {
    const chunks = options.chunks === undefined ? Math.max(1, pool.stats().size) : positiveInt('chunks', options.chunks);
    size = Math.max(1, Math.ceil(n / chunks));
  }
  const ranges: [number, number][] = [];
  for (let s = 0; s < n; s += size) ranges.push([s, Math.min(n, s + size)]);

  const run = pool.run.bind(pool) as (name: string, input: unknown, opts?: RunOptions) => Promise<unknown>;
  const settled = await Promise.allSettled(
    ranges.map(async ([start, end]) => {
      if (kind !== 'process') return run(name, { array, start, end, offset: start } satisfies SharedRange, options.run);
      const input: CopyBackInput = { array: array.slice(start, end), start: 0, end: end - start, offset: start, [COPY_BACK]: true };
      const out = (await run(name, input, options.run)) as Partial<CopyBackOutput> | undefined;
      if (out?.[COPY_BACK] !== true) {
        throw new TypeError(`task "${name}" must be wrapped in chunkTask() for kind 'process': its range was copied to the worker and cannot come back otherwise`);
      }
      (array as unknown as { set(a: ArrayLike<unknown>, at: number): void }).set(out.array as unknown as ArrayLike<unknown>, start);
      return out.value;
    }),
  );
  const result: MapSharedResult<TaskOutput<M, K>> = { ok: [], failed: [] };
  settled.forEach((s, i) => {
    const [start, end] = ranges[i] as [number, number];
    if (s.status === 'fulfilled') result.ok.push({ start, end, value: s.value as TaskOutput<M, K> });
    else result.failed.push({ start, end, error: s.reason });
  });
  return result;
}
