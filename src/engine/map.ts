/**
 * `pool.map()`: runs a task over an iterable or async iterable with bounded
 * work in flight. The input is read lazily, only as results are consumed, so
 * a ten-million-item input never sits in memory: at most the window's size
 * of items are between the source and the consumer (running, or finished
 * and waiting for their turn when `ordered`). The window is the user's
 * `concurrency`, or adapts to the tasks' speed (map-window.ts).
 */

import { TaskAbortedError } from '../api/errors.js';
import type { Transferable } from '../api/types.js';
import type { MapWindow } from './map-window.js';

export interface MapOptions<In = unknown> {
  /** Yield results in input order (true) or as they finish (false). @default true */
  ordered?: boolean;
  /**
   * Items in flight at most (running plus finished-but-not-yet-yielded),
   * fixed. Without it the window adapts: it starts at 2 × the pool's maximum
   * size and grows while tasks are short, keeping about 16 ms of the pool's
   * work in flight, up to 1024 items (and never past what the workers and `queue.capacity` hold).
   * @default adaptive, 2 × the pool's maximum size to 1024
   */
  concurrency?: number;
  /**
   * The objects of an input to move to the worker instead of copying (its
   * ArrayBuffers, MessagePorts): called with each input, the list it returns
   * is that task's `transfer`. A moved buffer is detached in this thread.
   */
  transfer?: (input: In) => readonly Transferable[];
  /** Stops the map: in-flight tasks are aborted and the iterator throws TaskAbortedError. */
  signal?: AbortSignal;
  /**
   * `'throw'`: the first failure aborts the rest and is thrown from the
   * iterator. `'yield'`: every item yields a `MapResult` (`ok: true` with
   * `value`, or `ok: false` with `error`), and the map goes on.
   * @default 'throw'
   */
  errors?: 'throw' | 'yield';
}

export type MapResult<T> = { readonly index: number; readonly ok: true; readonly value: T } | { readonly index: number; readonly ok: false; readonly error: unknown };

type Run<In, Out> = (input: In, signal: AbortSignal) => Promise<Out>;

export async function* mapTasks<In, Out>(
  taskName: string,
  run: Run<In, Out>,
  source: Iterable<In> | AsyncIterable<In>,
  window: MapWindow,
  opts: MapOptions<In>,
): AsyncGenerator<Out | MapResult<Out>, void, undefined> {
  const ordered = opts.ordered ?? true;
  const yieldErrors = opts.errors === 'yield';
  const stop = new AbortController();
  const signal = opts.signal === undefined ? stop.signal : AbortSignal.any([opts.signal, stop.signal]);
  const isAsync = Symbol.asyncIterator in source;
  const it: Iterator<In> | AsyncIterator<In> = isAsync ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  let nextIndex = 0;
  let yieldIndex = 0;
  let exhausted = false;
  let inflight = 0;
  const finished = new Map<number, MapResult<Out>>(); // ordered: finished, waiting for their turn
  const ready: MapResult<Out>[] = []; // unordered: finished, in completion order
  let wake: (() => void) | undefined;
  const complete = (r: MapResult<Out>): void => {
    inflight--;
    window.completed();
    if (ordered) finished.set(r.index, r);
    else ready.push(r);
    wake?.();
  };
  const buffered = (): number => (ordered ? finished.size : ready.length);

  try {
    for (;;) {
      if (opts.signal?.aborted) throw new TaskAbortedError(taskName, opts.signal.reason);
      // Fill up to the window, reading the source only as far as needed
      // (a synchronous source without an await per item: that tick per item was most of map's own cost).
      while (!exhausted && inflight + buffered() < window.size) {
        const r = isAsync ? await it.next() : (it as Iterator<In>).next();
        if (r.done === true) {
          exhausted = true;
          break;
        }
        const index = nextIndex++;
        inflight++;
        run(r.value, signal).then(
          (value) => complete({ index, ok: true, value }),
          (error: unknown) => complete({ index, ok: false, error }),
        );
      }
      let yielded = false;
      for (;;) {
        let r: MapResult<Out> | undefined;
        if (ordered) {
          r = finished.get(yieldIndex);
          if (r !== undefined) {
            finished.delete(yieldIndex);
            yieldIndex++;
          }
        } else {
          r = ready.shift();
        }
        if (r === undefined) break;
        yielded = true;
        if (yieldErrors) yield r;
        else if (r.ok) yield r.value;
        else throw r.error;
      }
      if (exhausted && inflight === 0 && buffered() === 0) return;
      if (!yielded) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    // Early exit (break, error, abort): stop what is running and close the source.
    stop.abort(new Error('map ended'));
    await it.return?.();
  }
}
