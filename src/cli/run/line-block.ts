/**
 * One block of input lines, run where the task runs (inside a worker, or in
 * this process for kind 'async'): split the text into lines, parse each,
 * call the task, write its output line as JSON. The main thread then only
 * splits the input into blocks and appends the text that comes back, which
 * is what lets `sluice run` beat a single-threaded parse → task → stringify
 * loop: that per-line work is spread over the workers.
 *
 * A line whose task fails is either dead-lettered here (no retries, or an
 * error that would fail the same way again) or handed back to the main
 * thread, which owns retries and backoff.
 */

import { TaskFailedError } from '../../api/errors.js';
import type { TaskContext, Transferable } from '../../api/types.js';
import { isRetryable } from './retry.js';

/** The name the block task is exported under (beside the module's own tasks). */
export const BLOCK_TASK = '__sluiceRunLines';

export interface LineBlock {
  /** Line number of the first line (1-based; blank lines count). */
  first: number;
  /** Whole lines, each ending in \n (the input's last line may not). */
  text: string;
  /** Line numbers in this block an earlier run finished: skipped. */
  skip: readonly number[];
  /**
   * Hand every task failure back instead of dead-lettering it here (the main
   * thread retries it, or dead-letters it with its attempt count).
   */
  report: 'all' | 'retryable' | 'none';
}

/**
 * A line's `ctx.progress(value)`, as the block reports it to `sluice run`'s
 * progress display: the block is one task to the pool, so its reports say
 * which line they come from. Coalesced per flush like any task's progress.
 */
export interface LineProgress {
  line: number;
  value: unknown;
}

/** The block task's context, as the pool gives it (in-process callers may pass less). */
export type BlockContext = Partial<TaskContext> & { signal?: AbortSignal };

/** An error as the dead-letter file records it. */
export interface LineError {
  name: string;
  /** Only when the error had one: a plain Error has no code. */
  code?: unknown;
  message: string;
  stack?: string;
}

/** A line whose task failed, handed back to the main thread. */
export interface FailedLine {
  line: number;
  text: string;
  error: LineError;
  /** Where this line's records belong in `out` and `dlq` (characters before it), so order holds. */
  outAt: number;
  dlqAt: number;
}

export interface BlockResult {
  /** Output records, one per line that succeeded, in line order. */
  out: string;
  /** Dead-letter records, in line order ('' when none). */
  dlq: string;
  lines: number;
  ok: number;
  dead: number;
  badJson: number;
  blank: number;
  skipped: number;
  failed: FailedLine[];
  /**
   * Running time of each task call, ms, for blocks of up to TIMED_LINES
   * lines; for larger ones (fast tasks) one figure, their mean: timing every
   * line of a trivial task would cost more than the task.
   */
  times: number[];
  /** Time the block took here, ms: sizes the next blocks. */
  ms: number;
}

type Task = (input: unknown, ctx: unknown) => unknown;

/**
 * The context each line's task sees: the block's, except that `progress()`
 * names the line. One per block, its line moved on as the lines run (they
 * run one after another), so a block of trivial lines allocates nothing per
 * line for it.
 */
class LineContext {
  line = 0;
  readonly #ctx: BlockContext;

  constructor(ctx: BlockContext) {
    this.#ctx = ctx;
  }

  get signal(): AbortSignal | undefined {
    return this.#ctx.signal;
  }
  get taskId(): number | undefined {
    return this.#ctx.taskId;
  }
  get correlationId(): string | undefined {
    return this.#ctx.correlationId;
  }
  get workerId(): number | undefined {
    return this.#ctx.workerId;
  }
  get traceContext(): TaskContext['traceContext'] {
    return this.#ctx.traceContext;
  }

  transfer(...items: Transferable[]): void {
    this.#ctx.transfer?.(...items);
  }

  progress(value: unknown): void {
    const report: LineProgress = { line: this.line, value };
    this.#ctx.progress?.(report);
  }
}

/** Blocks up to this many lines report each line's time. */
const TIMED_LINES = 32;

export function lineError(err: unknown, taskName: string): LineError {
  const e = err instanceof Error ? err : new TaskFailedError(taskName, err);
  // The pool's errors name the task it ran (a crash, a timeout: `while running
  // "<task>"`), and for a line that is the block task, which is this file's
  // own business: the record names the task the user asked for.
  const named = (text: string): string => text.split(`"${BLOCK_TASK}"`).join(`"${taskName}"`);
  const out: LineError = { name: e.name, message: named(e.message) };
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (e.stack !== undefined) out.stack = named(e.stack);
  return out;
}

/** The `id` copied from an input record that is an object with one. */
function idOf(input: unknown): unknown {
  return typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as { id?: unknown }).id : undefined;
}

export function okRecord(line: number, input: unknown, result: unknown): string {
  const id = idOf(input);
  return JSON.stringify(id === undefined ? { line, ok: true, result: result ?? null } : { line, id, ok: true, result: result ?? null });
}

export function deadRecord(line: number, input: unknown, error: LineError, attempts: number): string {
  const rec: Record<string, unknown> = { line };
  const id = idOf(input);
  if (id !== undefined) rec.id = id;
  rec.ok = false;
  rec.input = input;
  rec.error = error;
  rec.attempts = attempts;
  return JSON.stringify(rec);
}

/** A result JSON cannot write (a BigInt, a cycle): deterministic, so never retried. */
export function unwritable(taskName: string, err: unknown): LineError {
  return { name: 'SerializationError', code: 'ERR_SLUICE_SERIALIZATION', message: `the output of task "${taskName}" cannot be written as JSON: ${(err as Error).message}` };
}

/**
 * Runs `task` over every line of `block`. Synchronous tasks run in one loop
 * with no promise at all, and the block returns synchronously: its worker
 * counts it finished at once, so a later line that kills the worker cannot
 * take this block's result down as "running". A task that returns a promise
 * is awaited, line after line (a block is one task to the pool: its lines
 * run in order).
 */
export function runBlock(task: Task, taskName: string, block: LineBlock, ctx: BlockContext | undefined): BlockResult | Promise<BlockResult> {
  return new BlockRun(task, taskName, block, ctx).next();
}

interface Thenable {
  then(ok: (v: unknown) => unknown, fail: (e: unknown) => unknown): unknown;
}

class BlockRun {
  readonly #task: Task;
  readonly #taskName: string;
  readonly #block: LineBlock;
  readonly #ctx: BlockContext | undefined;
  /** What each line's task gets as its context (progress names the line). */
  readonly #lineCtx: LineContext | undefined;
  readonly #skip: Set<number> | undefined;
  /** Whether to time each line: small blocks only (see BlockResult.times). */
  readonly #timed: boolean;
  readonly #t0 = performance.now();
  #out = '';
  #dlq = '';
  #ok = 0;
  #dead = 0;
  #badJson = 0;
  #blank = 0;
  #skipped = 0;
  #ran = 0;
  readonly #failed: FailedLine[] = [];
  readonly #times: number[] = [];
  #line: number;
  #start = 0;

  constructor(task: Task, taskName: string, block: LineBlock, ctx: BlockContext | undefined) {
    this.#task = task;
    this.#taskName = taskName;
    this.#block = block;
    this.#ctx = ctx;
    this.#lineCtx = ctx === undefined ? undefined : new LineContext(ctx);
    this.#skip = block.skip.length === 0 ? undefined : new Set(block.skip);
    this.#timed = countNewlines(block.text, TIMED_LINES + 1) <= TIMED_LINES;
    this.#line = block.first - 1;
  }

  /** Runs lines until the end, or until a task returns a promise (then goes on when it settles). */
  next(): BlockResult | Promise<BlockResult> {
    const text = this.#block.text;
    while (this.#start < text.length) {
      let nl = text.indexOf('\n', this.#start);
      if (nl === -1) nl = text.length;
      const end = nl > this.#start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      const raw = text.slice(this.#start, end);
      this.#start = nl + 1;
      const line = ++this.#line;
      if (this.#skip?.has(line) === true) {
        this.#skipped++;
        continue;
      }
      if (raw.trim() === '') {
        this.#blank++;
        continue;
      }
      let input: unknown;
      try {
        input = JSON.parse(raw);
      } catch (err) {
        this.#badJson++;
        this.#dead++;
        const e = err as Error;
        this.#dlq += JSON.stringify({ line, ok: false, raw, error: { name: e.name, code: 'ERR_SLUICE_CLI_BAD_JSON', message: e.message }, attempts: 0 }) + '\n';
        continue;
      }
      if (this.#ctx?.signal?.aborted === true) throw this.#ctx.signal.reason;
      const s = this.#timed ? performance.now() : 0;
      let result: unknown;
      if (this.#lineCtx !== undefined) this.#lineCtx.line = line;
      try {
        result = this.#task(input, this.#lineCtx);
      } catch (err) {
        this.#done(line, raw, input, s, false, err);
        continue;
      }
      if (typeof (result as Thenable | null)?.then === 'function') {
        return new Promise<BlockResult>((resolve, reject) => {
          const go = (): void => {
            try {
              resolve(this.next());
            } catch (err) {
              reject(err);
            }
          };
          (result as Thenable).then(
            (v) => {
              this.#done(line, raw, input, s, true, v);
              go();
            },
            (e) => {
              this.#done(line, raw, input, s, false, e);
              go();
            },
          );
        });
      }
      this.#done(line, raw, input, s, true, result);
    }
    const ms = performance.now() - this.#t0;
    if (!this.#timed && this.#ran > 0) this.#times.push(ms / this.#ran);
    // A string goes back: posting one costs a fraction of encoding and posting its bytes.
    return {
      out: this.#out,
      dlq: this.#dlq,
      lines: this.#line - this.#block.first + 1,
      ok: this.#ok,
      dead: this.#dead,
      badJson: this.#badJson,
      blank: this.#blank,
      skipped: this.#skipped,
      failed: this.#failed,
      times: this.#times,
      ms,
    };
  }

  /** One line's task ended: its output record, a dead letter, or a failure handed back. */
  #done(line: number, raw: string, input: unknown, started: number, ok: boolean, value: unknown): void {
    this.#ran++;
    if (this.#timed) this.#times.push(performance.now() - started);
    if (ok) {
      let rec: string;
      try {
        rec = okRecord(line, input, value);
      } catch (err) {
        this.#dead++;
        this.#dlq += deadRecord(line, input, unwritable(this.#taskName, err), 1) + '\n';
        return;
      }
      this.#ok++;
      this.#out += rec + '\n';
      return;
    }
    const e = lineError(value, this.#taskName);
    const report = this.#block.report;
    if (report === 'all' || (report === 'retryable' && isRetryable(e))) {
      this.#failed.push({ line, text: raw, error: e, outAt: this.#out.length, dlqAt: this.#dlq.length });
    } else {
      this.#dead++;
      this.#dlq += deadRecord(line, input, e, 1) + '\n';
    }
  }
}

/** Newlines in `text`, counting no further than `max`. */
function countNewlines(text: string, max: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && n < max; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
