export type TaskFn = (input: unknown, ctx: unknown) => unknown;

/**
 * The tasks of a worker module: its exported functions, sorted by name.
 * A CommonJS module's `module.exports` object arrives as `default`; its
 * function properties count as tasks too. Classes are not tasks.
 */
export function collectTasks(ns: Record<string, unknown>): [string, TaskFn][] {
  const found = new Map<string, TaskFn>();
  for (const [name, value] of Object.entries(ns)) {
    if (isTask(value)) found.set(name, value);
  }
  const def = ns.default;
  if (def !== null && typeof def === 'object') {
    for (const [name, value] of Object.entries(def as Record<string, unknown>)) {
      if (isTask(value) && !found.has(name)) found.set(name, value);
    }
  }
  return [...found.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Functions, but not classes: an exported error class is not a task. */
function isTask(value: unknown): value is TaskFn {
  return typeof value === 'function' && !Function.prototype.toString.call(value).startsWith('class');
}
