/**
 * Hooks around every task execution, inside the worker: the way a per-worker
 * setup module (the `workerSetup` pool option) instruments tasks, e.g. the
 * OpenTelemetry adapter opening a consumer span around each one.
 *
 * The registry lives on a global symbol, so a setup module that imports
 * `sluice/worker` and the runtime share it even if they were loaded as two
 * copies of the package. With no hook registered, a task runs as a plain
 * call: hooks cost nothing when unused.
 */
import type { TaskContext } from '../api/types.js';

export interface TaskHookInfo {
  /** The task's name. */
  readonly task: string;
  readonly ctx: TaskContext;
}

/** Wraps one execution: call `run()` exactly once and return what it returns (a value or a promise). */
export type TaskHook = (run: () => unknown, info: TaskHookInfo) => unknown;

const KEY = Symbol.for('sluice.taskHooks');
type Registry = { hooks: TaskHook[] };

function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  return (g[KEY] ??= { hooks: [] });
}

/** Registers a hook for every task run in this worker (or this process, for kind 'async'). Returns an unregister function. */
export function registerTaskHook(hook: TaskHook): () => void {
  if (typeof hook !== 'function') throw new TypeError('registerTaskHook expects a function (run, info) => unknown');
  const r = registry();
  r.hooks = [...r.hooks, hook];
  return () => {
    r.hooks = r.hooks.filter((h) => h !== hook);
  };
}

const shared = registry();

/** Runs `fn(input, ctx)` through the registered hooks, outermost first. */
export function runTask(fn: (input: unknown, ctx: unknown) => unknown, input: unknown, ctx: TaskContext, task: string): unknown {
  const hooks = shared.hooks;
  if (hooks.length === 0) return fn(input, ctx);
  const info: TaskHookInfo = { task, ctx };
  let run = (): unknown => fn(input, ctx);
  for (let i = hooks.length - 1; i >= 0; i--) {
    const hook = hooks[i] as TaskHook;
    const inner = run;
    run = () => hook(inner, info);
  }
  return run();
}
