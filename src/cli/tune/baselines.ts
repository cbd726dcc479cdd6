/**
 * What `sluice tune` measures besides pool sizes: the same task with no
 * worker pool at all, so the report can say when a pool does not pay (a
 * task of a few microseconds, a task whose work is already off the main
 * thread in libuv's pool, I/O). Three ways a user would run it instead:
 * a plain loop in the main thread, `Promise.all` over bounded batches, and
 * an in-process pool (kind 'async'). Timed like the pool sizes: per-task
 * latency into a histogram, throughput over the whole run.
 */

import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { TaskContext } from '../../api/types.js';
import { measure, type MeasureConfig, type Measured } from './measure.js';

export type BaselineId = 'sequential' | 'promise-all' | 'async-kind';

/** Tasks started together per `Promise.all` batch. */
const PROMISE_ALL_BATCH = 64;
/** The in-process pool's size: kind 'async''s default. */
const ASYNC_KIND_SIZE = 64;

const BASELINE_LABELS: Record<BaselineId, string> = {
  sequential: 'no pool, sequential',
  'promise-all': `no pool, Promise.all ×${PROMISE_ALL_BATCH}`,
  'async-kind': `kind 'async', size ${ASYNC_KIND_SIZE}`,
};

export interface BaselineMeasured extends Omit<Measured, 'workers'> {
  readonly id: BaselineId;
  readonly label: string;
}

/** A baseline that could not run: the module does not load in this process, or the task is not there. */
export interface BaselineSkipped {
  readonly id: BaselineId;
  readonly label: string;
  readonly skipped: string;
}

type TaskFn = (input: unknown, ctx: TaskContext) => unknown;

/**
 * The `ctx` a task gets when called directly: a signal that never aborts,
 * and transfer and progress that do nothing (there is no boundary to cross
 * and no caller listening), so a task that uses them runs as it would in a pool.
 */
function directContext(taskId: number): TaskContext {
  return {
    signal: NEVER_ABORTED,
    taskId,
    correlationId: `tune-${taskId}`,
    workerId: 0,
    transfer: () => undefined,
    progress: () => undefined,
  };
}
const NEVER_ABORTED = new AbortController().signal;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** The task's function, imported into this process; a string when it cannot be. */
async function loadTask(c: MeasureConfig): Promise<TaskFn | string> {
  let ns: Record<string, unknown>;
  try {
    ns = (await import(c.moduleUrl)) as Record<string, unknown>;
  } catch (err) {
    return `the module does not load in this process (${(err as Error).message.split('\n')[0] ?? ''})`;
  }
  const fn = ns[c.task];
  return typeof fn === 'function' ? (fn as TaskFn) : `"${c.task}" is not a function of the module here`;
}

function result(id: BaselineId, tasks: number, failed: number, ms: number, hist: RecordableHistogram): BaselineMeasured {
  return { id, label: BASELINE_LABELS[id], tasks, failed, throughput: tasks / (ms / 1000), p50Ms: hist.percentile(50) / 1e6, p99Ms: hist.percentile(99) / 1e6 };
}

const elapsedNs = (start: number): number => Math.max(1, Math.round((performance.now() - start) * 1e6));

/** Every input in turn in the main thread: what a plain `for` loop does. */
async function sequential(fn: TaskFn, c: MeasureConfig): Promise<BaselineMeasured> {
  const total = c.inputs.length * c.rounds;
  const hist = createHistogram();
  let failed = 0;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const start = performance.now();
    try {
      const out = fn(c.inputs[i % c.inputs.length], directContext(i));
      if (isThenable(out)) await out; // a synchronous task is not made to wait a tick
    } catch {
      failed++;
    }
    hist.record(elapsedNs(start));
  }
  return result('sequential', total, failed, performance.now() - t0, hist);
}

/** Batches of PROMISE_ALL_BATCH started together, each batch awaited: bounded, as a careful `Promise.all` is. */
async function promiseAll(fn: TaskFn, c: MeasureConfig): Promise<BaselineMeasured> {
  const total = c.inputs.length * c.rounds;
  const hist = createHistogram();
  let failed = 0;
  const t0 = performance.now();
  for (let base = 0; base < total; base += PROMISE_ALL_BATCH) {
    const start = performance.now();
    const batch: Promise<void>[] = [];
    for (let i = base; i < Math.min(total, base + PROMISE_ALL_BATCH); i++) {
      const one = (async (): Promise<void> => {
        try {
          await fn(c.inputs[i % c.inputs.length], directContext(i));
        } catch {
          failed++;
        }
        hist.record(elapsedNs(start));
      })();
      batch.push(one);
    }
    await Promise.all(batch);
  }
  return result('promise-all', total, failed, performance.now() - t0, hist);
}

/**
 * The baselines for `c`, after the pool sizes: in the main thread
 * sequentially and with `Promise.all`, and on kind 'async' unless that is
 * the kind being tuned (its sizes are the rows above then).
 */
export async function measureBaselines(c: MeasureConfig): Promise<(BaselineMeasured | BaselineSkipped)[]> {
  const fn = await loadTask(c);
  const out: (BaselineMeasured | BaselineSkipped)[] = [];
  for (const id of ['sequential', 'promise-all'] as const) {
    if (typeof fn === 'string') {
      out.push({ id, label: BASELINE_LABELS[id], skipped: fn });
      continue;
    }
    // Warm, as every pool worker is before its clock starts: the code compiled, the module's caches filled.
    for (let i = 0; i < Math.min(c.inputs.length, 2 * PROMISE_ALL_BATCH); i++) {
      try {
        await fn(c.inputs[i], directContext(i));
      } catch {
        // counted in the measured pass
      }
    }
    out.push(id === 'sequential' ? await sequential(fn, c) : await promiseAll(fn, c));
  }
  if (c.kind !== 'async') {
    try {
      const m = await measure({ ...c, kind: 'async' }, ASYNC_KIND_SIZE);
      out.push({ id: 'async-kind', label: BASELINE_LABELS['async-kind'], tasks: m.tasks, failed: m.failed, throughput: m.throughput, p50Ms: m.p50Ms, p99Ms: m.p99Ms });
    } catch (err) {
      out.push({ id: 'async-kind', label: BASELINE_LABELS['async-kind'], skipped: (err as Error).message.split('\n')[0] ?? 'failed' });
    }
  }
  return out;
}
