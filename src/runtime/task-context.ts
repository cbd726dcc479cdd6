/**
 * The `ctx` a task function receives, one class for every kind: the worker
 * runtime (threads, processes) and the in-process worker (kind 'async')
 * build the same object, so a task sees the same context wherever it runs.
 */
import { AbortKind } from '../wire/protocol.js';
import type { TraceCarrier } from '../observability/diagnostics.js';
import type { TaskContext, Transferable } from '../api/types.js';

export type { TaskContext } from '../api/types.js';

/** Where a task's side output goes: objects to move with the results (in-process too: inline.ts moves them), and progress. */
export interface TaskSink {
  /** Keeps what task `seq` marked with `ctx.transfer`, to move with its own result (never another task's). */
  transfer(seq: number, items: Transferable[]): void;
  /** Keeps the task's latest progress value for the next flush (coalesced). */
  progress(seq: number, value: unknown): void;
}

/** Adds what task `seq` marked with `ctx.transfer` to its list (the TaskSink's `transfer`, kept per task). */
export function keepTransfer(lists: Map<number, Transferable[]>, seq: number, items: Transferable[]): void {
  const list = lists.get(seq);
  if (list === undefined) lists.set(seq, [...items]);
  else list.push(...items);
}

export class TaskCtx implements TaskContext {
  readonly taskId: number;
  readonly workerId: number;
  /** The worker's sequence number for the task. */
  readonly seq: number;
  #corr: string | null;
  #prefix: string;
  #controller: AbortController | undefined = undefined;
  readonly #sink: TaskSink;
  readonly traceContext: TraceCarrier | undefined;

  constructor(seq: number, taskId: number, corr: string | null, workerId: number, prefix: string, sink: TaskSink, trace: TraceCarrier | null) {
    this.seq = seq;
    this.traceContext = trace ?? undefined;
    this.taskId = taskId;
    this.#corr = corr;
    this.workerId = workerId;
    this.#prefix = prefix;
    this.#sink = sink;
  }

  get correlationId(): string {
    return (this.#corr ??= `${this.#prefix}${this.taskId}`);
  }

  // Created on first use: most tasks never look at their signal, and an
  // AbortController per task is the largest allocation on this path.
  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  /** Aborts the signal; later calls keep the first reason. */
  abort(reason: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason);
  }

  transfer(...items: Transferable[]): void {
    this.#sink.transfer(this.seq, items);
  }

  progress(value: unknown): void {
    this.#sink.progress(this.seq, value);
  }
}

/** The reason `ctx.signal` carries: time ran out, the caller cancelled, or (in-process) the pool stopped the task. */
export function abortReason(kind: AbortKind | 'stopped'): DOMException {
  if (kind === AbortKind.TimedOut) return new DOMException('The task ran out of time', 'TimeoutError');
  if (kind === 'stopped') return new DOMException('The pool stopped the task', 'AbortError');
  return new DOMException('The task was cancelled', 'AbortError');
}
