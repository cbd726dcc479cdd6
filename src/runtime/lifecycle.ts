/**
 * Worker lifecycle hooks, worker side. A module opts in with one reserved
 * export, kept apart from its tasks by shape (an object, never a function,
 * so collect-tasks.ts never lists it as a task):
 *
 *   export const sluice = {
 *     init(workerData, { workerId }) {},  // once, before the worker takes tasks
 *     teardown() {},                      // on recycle and graceful close (timed out by the pool)
 *     health() { return true },           // called periodically; false or a throw means unhealthy
 *   };
 *
 * A CommonJS module may put the same object on `module.exports.sluice`.
 */

import { HookFlag } from '../wire/protocol.js';

export interface LifecycleHooks {
  init?: (workerData: unknown, info: { workerId: number }) => unknown;
  teardown?: () => unknown;
  health?: () => unknown;
}

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
    if (key !== 'init' && key !== 'teardown' && key !== 'health') throw new TypeError(`the "${HOOKS_EXPORT}" export has an unknown hook "${key}" (known: init, teardown, health)`);
    if (typeof hooks[key] !== 'function') throw new TypeError(`${HOOKS_EXPORT}.${key} must be a function`);
  }
  return hooks;
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
