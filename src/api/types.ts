/**
 * Compile-time typing of task modules: `createPool<typeof import('../tasks.js')>`
 * makes `pool.run(name, input)` check the name against the module's exported
 * functions and the input and output against that function's signature.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { TraceCarrier } from '../observability/diagnostics.js';

/** What may be moved rather than copied to a worker: ArrayBuffers, MessagePorts and the like. */
export type Transferable = TransferListItem;


/* eslint-disable @typescript-eslint/no-explicit-any -- the constraint must accept any function signature */
type AnyFn = (...args: any[]) => any;

/** A worker module as seen through `typeof import(...)`: any object of functions (non-functions are ignored). */
export type TaskModule = object;

/** The default when no module type is given: any name, any input, any output. */
export type UntypedModule = Record<string, (input: any, ctx: TaskContext) => any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Names of the module's exported functions. */
export type TaskName<M> = { [K in keyof M]: M[K] extends AnyFn ? K : never }[keyof M] & string;

/** The first parameter of task `K`. */
export type TaskInput<M, K extends keyof M> = M[K] extends (input: infer I, ...rest: infer _R) => unknown ? I : never;

/** What task `K` resolves to. */
export type TaskOutput<M, K extends keyof M> = M[K] extends (...args: infer _A) => infer R ? Awaited<R> : never;

/** What a task receives as its second argument. */
export interface TaskContext {
  /** Aborted when the caller cancels the task or its time runs out. */
  readonly signal: AbortSignal;
  /** The pool's id for this task. */
  readonly taskId: number;
  /** Given at submit, or generated: the same id the pool's events and errors carry. */
  readonly correlationId: string;
  /** The id of the worker running the task. */
  readonly workerId: number;
  /** Transfer these objects with the result instead of copying them (ArrayBuffers; MessagePorts from threads): the task's end detached on every kind (docs/kinds.md). */
  transfer(...items: Transferable[]): void;
  /**
   * Reports progress to the caller's `onProgress` (copied as inputs are,
   * Buffers kept; see docs/kinds.md, "Values across the boundary"). Coalesced: a task that reports in a
   * tight loop sends its latest value once per flush, never a flood; the
   * last value reported before the task ends arrives before its result.
   */
  progress(value: unknown): void;
  /** W3C trace context of the submitting span, when a tracing adapter is on (see sluice/otel). */
  readonly traceContext?: TraceCarrier | undefined;
}
