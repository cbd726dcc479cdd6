/**
 * The public face of a pool. Everything here delegates to the Scheduler
 * (scheduler.ts); this file holds the typing and the API contract only.
 */

import type { AnyPoolOptions, AsyncPoolOptions, CloseOptions, PoolKind, PoolOptions, RunOptions } from './options.js';
import { Scheduler, type PoolStats } from './scheduler.js';
import type { TaskInput, TaskModule, TaskName, TaskOutput, UntypedModule } from './types.js';
import { checkCloseOptions, resolvePoolOptions } from './validate.js';

export class Pool<M extends TaskModule = UntypedModule> implements AsyncDisposable {
  readonly #engine: Scheduler;

  /** Use `createPool`. */
  constructor(options: AnyPoolOptions<M>) {
    this.#engine = new Scheduler(resolvePoolOptions(options));
  }

  /**
   * Runs task `name` with `input` on a worker. The promise settles exactly
   * once: with the task's output, the task's own error, or a SluiceError
   * (queue full, timeout, aborted, worker crashed, pool closed...).
   * It never throws synchronously.
   */
  run<K extends TaskName<M>>(name: K, input: TaskInput<M, K>, options?: RunOptions): Promise<TaskOutput<M, K>> {
    return this.#engine.submit(name, input, options) as Promise<TaskOutput<M, K>>;
  }

  /** The execution model: 'thread', 'process' or 'async'. */
  get kind(): PoolKind {
    return this.#engine.options.kind;
  }

  /** A fresh, immutable snapshot of the pool's counters and workers. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /** Resolves when the queue has room (awaitable backpressure); rejects once the pool is closing or failed. */
  ready(): Promise<void> {
    return this.#engine.ready();
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
   * are terminated. Idempotent: every call returns the same promise.
   */
  close(options?: CloseOptions): Promise<void> {
    let timeoutMs: number;
    try {
      timeoutMs = checkCloseOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#engine.close(timeoutMs);
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
