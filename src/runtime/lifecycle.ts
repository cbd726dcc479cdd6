/**
 * What a module declares to sluice, worker side: lifecycle hooks and
 * exclusive tasks. A module opts in with one reserved export, kept apart
 * from its tasks by shape (an object, never a function, so collect-tasks.ts
 * never lists it as a task):
 *
 *   export const sluice = {
 *     init(workerData, { workerId }) {},  // once, before the worker takes tasks
 *     teardown() {},                      // on recycle and graceful close (timed out by the pool)
 *     health() { return true },           // called periodically; false or a throw means unhealthy
 *     exclusive: ['migrate'],             // tasks that run alone on their worker (or true: every task)
 *   };
 *
 * A CommonJS module may put the same object on `module.exports.sluice`.
 */

import { HookFlag } from '../wire/protocol.js';

export interface LifecycleHooks {
  init?: (workerData: unknown, info: { workerId: number }) => unknown;
  teardown?: () => unknown;
  health?: () => unknown;
  /**
   * Tasks that never overlap another task on their worker: one starts only
   * when nothing runs there, and nothing starts beside it until it settles.
   * `true`: every task of the module. Whatever the pipeline, and the auto
   * pipeline never counts them as waiting tasks (runtime.ts).
   */
  exclusive?: boolean | readonly string[];
}

const HOOK_NAMES = ['init', 'teardown', 'health'];

/** The reserved export name. */
export const HOOKS_EXPORT = 'sluice';

/** The module's hooks; a `sluice` export of the wrong shape is a load error, not silently ignored. */
export function findHooks(ns: Record<string, unknown>): LifecycleHooks {
  const def = ns.default as Record<string, unknown> | null | undefined;
  const raw = ns[HOOKS_EXPORT] ?? (def !== null && typeof def === 'object' ? def[HOOKS_EXPORT] : undefined);
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object') throw new TypeError(`the "${HOOKS_EXPORT}" export must be an object { init?, teardown?, health? }, got ${typeof raw}`);
  const hooks = raw as Record<string, unknown>;
  for (const key of Object.keys(hooks)) {
    if (key === 'exclusive') {
      const v = hooks[key];
      if (typeof v !== 'boolean' && !(Array.isArray(v) && v.every((n) => typeof n === 'string'))) throw new TypeError(`${HOOKS_EXPORT}.exclusive must be true, false or an array of task names, got ${describeValue(v)}`);
      continue;
    }
    if (!HOOK_NAMES.includes(key)) throw new TypeError(`the "${HOOKS_EXPORT}" export has an unknown key "${key}" (known: init, teardown, health, exclusive)`);
    if (typeof hooks[key] !== 'function') throw new TypeError(`${HOOKS_EXPORT}.${key} must be a function`);
  }
  return hooks;
}

function describeValue(v: unknown): string {
  return Array.isArray(v) ? 'an array with a value that is not a string' : v === null ? 'null' : typeof v;
}

/**
 * Which of the module's tasks (in `names` order) are exclusive, or null when
 * none is, so the runtime's per-task check is one comparison with null. A
 * name that is not one of the module's tasks is a load error, as a typo
 * would otherwise silently let the task overlap.
 */
export function exclusiveTasks(hooks: LifecycleHooks, names: readonly string[]): Uint8Array | null {
  const declared = hooks.exclusive;
  if (declared === undefined || declared === false || (Array.isArray(declared) && declared.length === 0)) return null;
  const mask = new Uint8Array(names.length);
  if (declared === true) return mask.fill(1);
  for (const name of declared as readonly string[]) {
    const i = names.indexOf(name);
    if (i === -1) throw new TypeError(`${HOOKS_EXPORT}.exclusive names "${name}", which is not a task of this module (its tasks: ${names.join(', ') || '(none)'})`);
    mask[i] = 1;
  }
  return mask;
}

export function hookFlags(hooks: LifecycleHooks): number {
  return (hooks.teardown ? HookFlag.Teardown : 0) | (hooks.health ? HookFlag.Health : 0);
}

/** Runs the health hook: `false` or a throw is unhealthy; anything else healthy. */
export async function checkHealth(hooks: LifecycleHooks): Promise<[boolean, string | undefined]> {
  try {
    const ok = await hooks.health?.();
    return ok === false ? [false, 'health() returned false'] : [true, undefined];
  } catch (err) {
    return [false, err instanceof Error ? err.message : String(err)];
  }
}
