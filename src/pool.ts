/**
 * The public face of a pool. Everything here delegates to the Scheduler
 * (engine/scheduler.ts); this file holds the typing and the API contract only.
 */

import { EventEmitter } from 'node:events';
import type { DeadLetter } from './dead-letter/sinks.js';
import type { PoolDiagnostics } from './observability/worker-diagnostics.js';
import { mapTasks, type MapOptions, type MapResult } from './engine/map.js';
import { AdaptiveWindow, FixedWindow, windowBounds, type MapWindow } from './engine/map-window.js';
import type { AnyPoolOptions, AsyncPoolOptions, CloseOptions, PoolKind, PoolOptions, QueueRetryOptions, RunOptions } from './api/options.js';
import { Scheduler } from './engine/scheduler.js';
import { clearedError } from './engine/controls.js';
import type { PoolStats } from './api/stats.js';
import type { TaskInput, TaskModule, TaskName, TaskOutput, Transferable, UntypedModule } from './api/types.js';
import { checkCloseOptions, resolvePoolOptions } from './config/validate.js';
import { nonNegativeInt } from './config/validate-helpers.js';
import { InvalidOptionError, TaskAbortedError } from './api/errors.js';
import type { Clock } from './time/clock.js';

/** The answer of `trySubmit`: accepted with the task's promise, or refused with the reason. */
export type TrySubmitResult<T> =
  | { readonly accepted: true; readonly result: Promise<T> }
  | { readonly accepted: false; readonly reason: 'queue-full' | 'closed' | 'failed'; readonly error: Error };

/**
 * Events: `'saturated'` when queue depth has stayed above 2 × the maximum
 * size for `saturation.afterMs` (the hint to scale out), and `'unsaturated'`
 * when it drops back; `'drain'` when the queue has emptied, `'idle'` when
 * nothing is queued or running any more (see `empty()` and `idle()`).
 */
export class Pool<M extends TaskModule = UntypedModule> extends EventEmitter implements AsyncDisposable {
  readonly #engine: Scheduler;

  /** Use `createPool`. */
  constructor(options: AnyPoolOptions<M>) {
    super();
    const engine = (this.#engine = new Scheduler(resolvePoolOptions(options), undefined, (event, payload) => {
      this.emit(event, payload);
    }));
    // The engine looks for quiet only while someone listens for it.
    this.on('newListener', (event: string | symbol) => {
      if (event === 'idle' || event === 'drain') engine.controls.listen(true);
    });
    this.on('removeListener', () => {
      if (this.listenerCount('idle') + this.listenerCount('drain') === 0) engine.controls.listen(false);
    });
  }

  /**
   * Runs task `name` with `input` on a worker. The promise settles exactly
   * once: with the task's output, the task's own error, or a SluiceError
   * (queue full, timeout, aborted, worker crashed, pool closed...).
   * It never throws synchronously.
   */
  run<K extends TaskName<M>>(name: K, input: TaskInput<M, K>, options?: RunOptions): Promise<TaskOutput<M, K>> {
    if (options?.queueRetry !== undefined) return this.#runWithQueueRetry(name, input, options, options.queueRetry) as Promise<TaskOutput<M, K>>;
    return this.#engine.submit(name, input, options) as Promise<TaskOutput<M, K>>;
  }

  /**
   * A synchronous accepted/refused answer that never throws and never waits:
   * accepted when a worker or the queue has room (the result promise then
   * settles like `run()`'s), refused otherwise, whatever the overflow policy.
   * For callers that route elsewhere on refusal.
   */
  trySubmit<K extends TaskName<M>>(name: K, input: TaskInput<M, K>, options?: RunOptions): TrySubmitResult<TaskOutput<M, K>> {
    return this.#engine.trySubmit(name, input, options) as TrySubmitResult<TaskOutput<M, K>>;
  }

  /**
   * Runs task `name` over every item of `source` with bounded work in flight,
   * reading `source` lazily. With `errors: 'yield'` each item yields a
   * `MapResult`; otherwise outputs are yielded and the first failure is thrown.
   */
  map<K extends TaskName<M>>(name: K, source: Iterable<TaskInput<M, K>> | AsyncIterable<TaskInput<M, K>>, options: MapOptions<TaskInput<M, K>> & { errors: 'yield' }): AsyncGenerator<MapResult<TaskOutput<M, K>>, void, undefined>;
  map<K extends TaskName<M>>(name: K, source: Iterable<TaskInput<M, K>> | AsyncIterable<TaskInput<M, K>>, options?: MapOptions<TaskInput<M, K>> & { errors?: 'throw' }): AsyncGenerator<TaskOutput<M, K>, void, undefined>;
  map<K extends TaskName<M>>(name: K, source: Iterable<TaskInput<M, K>> | AsyncIterable<TaskInput<M, K>>, options: MapOptions<TaskInput<M, K>> = {}): AsyncGenerator<unknown, void, undefined> {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) return rejectingGenerator(new InvalidOptionError('options', 'an object', options));
    const concurrency = options.concurrency ?? undefined; // null too: the default, as before
    const transfer = options.transfer;
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
      return rejectingGenerator(new InvalidOptionError('concurrency', 'a positive integer', concurrency));
    }
    if (options.errors !== undefined && options.errors !== 'throw' && options.errors !== 'yield') {
      return rejectingGenerator(new InvalidOptionError('errors', "'throw' or 'yield'", options.errors));
    }
    if (transfer !== undefined && typeof transfer !== 'function') {
      return rejectingGenerator(new InvalidOptionError('transfer', 'a function of the input that returns its transferables', transfer));
    }
    const engine = this.#engine;
    let window: MapWindow;
    if (concurrency !== undefined) window = new FixedWindow(concurrency);
    else {
      const { floor, ceiling } = windowBounds(engine.options.max, engine.options.capacity);
      window = new AdaptiveWindow(floor, ceiling);
    }
    const run =
      transfer === undefined
        ? (input: TaskInput<M, K>, signal: AbortSignal): Promise<unknown> => engine.submit(name, input, { signal })
        : (input: TaskInput<M, K>, signal: AbortSignal): Promise<unknown> => {
            let list: readonly Transferable[];
            try {
              list = transfer(input);
            } catch (err) {
              return Promise.reject(err); // that item fails, like a task that threw
            }
            return engine.submit(name, input, { signal, transfer: list });
          };
    return mapTasks(name, run, source, window, options);
  }

  /** Entries in the dead-letter queue (memory and file sinks; a callback sink keeps none). */
  deadLetters(): DeadLetter[] {
    return this.#engine.deadLetters();
  }

  /**
   * Takes the entries `filter` accepts (all by default) out of the dead-letter
   * queue and runs them again with their correlation ids. Resolves when they
   * have all settled; those that fail again land in the dead-letter queue anew.
   */
  async redrive(filter: (entry: DeadLetter) => boolean = () => true): Promise<{ redriven: number; completed: number; failed: number }> {
    const runs = this.#engine.redrive(filter);
    const settled = await Promise.allSettled(runs);
    const completed = settled.filter((r) => r.status === 'fulfilled').length;
    return { redriven: runs.length, completed, failed: runs.length - completed };
  }

  /** `put_nowait` wrapped in retry: try, and on a full queue wait with backoff, up to `timeoutMs`. */
  async #runWithQueueRetry(name: string, input: unknown, options: RunOptions, retry: QueueRetryOptions): Promise<unknown> {
    const { queueRetry: _, ...rest } = options;
    const clock = this.#engine.options.clock;
    const start = clock.now();
    let wait = retry.baseMs ?? 10;
    for (;;) {
      const r = this.#engine.trySubmit(name, input, rest);
      if (r.accepted) return r.result;
      if (r.reason !== 'queue-full') throw r.error;
      const left = retry.timeoutMs - (clock.now() - start);
      if (left <= 0) return this.#engine.submit(name, input, rest); // the overflow policy has the last word
      await sleep(clock, Math.min(wait, left), options.signal, name);
      wait = Math.min(wait * 2, retry.maxMs ?? 1000);
    }
  }

  /** The pool's name (`name` option). */
  get name(): string {
    return this.#engine.options.name;
  }

  /** Unique per pool instance: the `poolId` of its diagnostics events. */
  get id(): string {
    return this.#engine.poolId;
  }

  /**
   * Per-worker diagnostics on demand: heap, RSS, event-loop utilization, CPU
   * time, and for process workers context switches and open file
   * descriptors from /proc; plus live workers against the configured size.
   */
  diagnostics(): Promise<PoolDiagnostics> {
    return this.#engine.diagnostics();
  }

  /** The execution model: 'thread', 'process' or 'async'. */
  get kind(): PoolKind {
    return this.#engine.options.kind;
  }

  /** A fresh, immutable snapshot of the pool's counters and workers. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /**
   * Sets the size the pool heads for, clamped to [size.min, size.max]:
   * grows by starting workers, shrinks by retiring idle workers first, then
   * letting busy ones finish their tasks. With a scaler, its next sample may
   * override this. See docs/scaling.md.
   */
  resize(size: number): void {
    this.#engine.resize(nonNegativeInt('size', size));
  }

  /** Resolves when the queue has room (awaitable backpressure); rejects once the pool is closing or failed. */
  ready(): Promise<void> {
    return this.#engine.ready();
  }

  /**
   * Stops tasks from starting; running ones go on. Tasks already sent to a
   * worker that it has not reached are taken back into the queue. Resolves
   * once every worker has answered (a worker busy in a synchronous task
   * answers when that task yields): from then on no task starts until
   * `resume()`. `stats().state` is `'paused'`. Submitting still queues.
   */
  pause(): Promise<void> {
    return this.#engine.controls.pause();
  }

  /** Tasks start again after `pause()`. */
  resume(): void {
    this.#engine.controls.resume();
  }

  /** Whether the pool is paused. */
  get paused(): boolean {
    return this.#engine.controls.paused;
  }

  /**
   * Rejects every task that has not started (queued, waiting for room, in a
   * retry backoff, or sent to a worker that has not reached it) with
   * `TaskAbortedError` (`reason` as its `cause`); running tasks go on.
   * Resolves with how many were rejected.
   */
  clear(reason?: unknown): Promise<number> {
    return this.#engine.controls.clear(clearedError(reason ?? new Error('pool.clear()')));
  }

  /** Resolves when nothing is queued, waiting, backing off or running (at once if so now). */
  idle(): Promise<void> {
    return this.#engine.controls.idle();
  }

  /** Resolves when nothing is queued or waiting for room (at once if so now); running tasks may remain. */
  empty(): Promise<void> {
    return this.#engine.controls.empty();
  }

  /** Resolves when the first worker has loaded the module; rejects with ModuleLoadError if it cannot. */
  start(): Promise<void> {
    return this.#engine.start();
  }

  /** The task names the module exports (empty until a worker has loaded it). */
  get tasks(): readonly string[] {
    return this.#engine.taskNames;
  }

  /**
   * Two-phase shutdown: stop accepting (new `run()` calls reject with
   * PoolClosedError), let queued and running tasks finish, then stop the
   * workers. After `timeoutMs` whatever is left is rejected and the workers
   * are terminated. With `cancelQueued: true`, tasks that have not started
   * reject with PoolClosedError at once and only running ones finish.
   * Idempotent: every call returns the same promise.
   */
  close(options?: CloseOptions): Promise<void> {
    let opts: { timeoutMs: number; cancelQueued: boolean };
    try {
      opts = checkCloseOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#engine.close(opts.timeoutMs, opts.cancelQueued);
  }

  /** Immediate shutdown: every pending task rejects with PoolClosedError and the workers are killed. */
  terminate(): Promise<void> {
    return this.#engine.terminate();
  }

  /** `await using pool = createPool(...)` closes it gracefully. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a pool of async functions run in this process (`kind: 'async'`),
 * at most `size` at a time; the task types are inferred from `tasks`.
 */
export function createPool<M extends TaskModule>(options: AsyncPoolOptions<M>): Pool<M>;
/**
 * Creates a pool. Pass the module's type to check task names, inputs and
 * outputs at compile time: `createPool<typeof import('./tasks.js')>({...})`.
 * Throws InvalidOptionError synchronously for bad options.
 */
export function createPool<M extends TaskModule = UntypedModule>(options: PoolOptions<M>): Pool<M>;
export function createPool<M extends TaskModule = UntypedModule>(options: AnyPoolOptions<M>): Pool<M> {
  return new Pool<M>(options);
}

function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined, taskName: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new TaskAbortedError(taskName, signal.reason));
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(new TaskAbortedError(taskName, signal?.reason));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A generator that fails on first use, so map() never throws synchronously. */
// eslint-disable-next-line require-yield
async function* rejectingGenerator(err: Error): AsyncGenerator<never, void, undefined> {
  await Promise.resolve();
  throw err;
}
