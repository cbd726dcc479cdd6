/**
 * Opens the pool a CLI command runs a task module on, and turns what can go
 * wrong into the CLI's exit codes: options the pool refuses and an unknown
 * task are usage errors (exit 2); a module that does not load is exit 3.
 * Shared by `sluice run` and `sluice tune`.
 */
import { InvalidOptionError, ModuleLoadError } from '../api/errors.js';
import type { PoolOptions } from '../api/options.js';
import { createPool, type Pool } from '../pool.js';
import { ModuleLoadFailure, UsageError } from './exit-codes.js';
import { describeLoadError } from './module-errors.js';

export interface TaskPoolSpec {
  /** As the user gave it: the pool validates it (a bad kind is a usage error). */
  kind: string;
  moduleUrl: string;
  task: string;
  /** Threads and processes: the module the workers load (a wrapper of moduleUrl). @default moduleUrl */
  workerModule?: string;
  /** Kind 'async': the pool's tasks from the module's exports. @default the exports */
  inProcessTasks?: (ns: Record<string, unknown>) => Record<string, unknown>;
}

/** `options` are the pool options besides kind and module/tasks. Resolves once the module is loaded and the task exists. */
export async function openTaskPool(spec: TaskPoolSpec, options: Record<string, unknown>): Promise<Pool> {
  const all: Record<string, unknown> = { ...options, kind: spec.kind };
  if (spec.kind === 'async') {
    // An in-process pool takes the module's exports as its tasks.
    let ns: Record<string, unknown>;
    try {
      ns = (await import(spec.moduleUrl)) as Record<string, unknown>;
    } catch (err) {
      throw new ModuleLoadFailure(describeLoadError(spec.moduleUrl, err), { cause: err });
    }
    all.tasks = spec.inProcessTasks === undefined ? ns : spec.inProcessTasks(ns);
  } else {
    all.module = spec.workerModule ?? spec.moduleUrl;
  }
  let pool: Pool;
  try {
    pool = createPool(all as unknown as PoolOptions);
  } catch (err) {
    if (err instanceof InvalidOptionError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
  try {
    await pool.start();
  } catch (err) {
    await pool.terminate();
    if (err instanceof ModuleLoadError) throw new ModuleLoadFailure(describeLoadError(spec.moduleUrl, err.cause ?? err), { cause: err });
    throw err;
  }
  if (!pool.tasks.includes(spec.task)) {
    await pool.terminate();
    throw new UsageError(`unknown task "${spec.task}"; ${spec.moduleUrl} exports: ${pool.tasks.length > 0 ? pool.tasks.join(', ') : '(no functions)'}`);
  }
  return pool;
}
