/**
 * One abort listener per signal, not one per task. Callers often share a
 * long-lived signal across thousands of tasks (a request's or a shutdown
 * signal); a listener per task would trip Node's MaxListeners warning and
 * cost a closure per task. The listener is removed when the signal's last
 * pending task settles, so nothing leaks onto a signal that outlives the pool.
 */
export class AbortWatch<T> {
  readonly #bySignal = new Map<AbortSignal, { tasks: Set<T>; listener: () => void }>();
  readonly #onAbort: (task: T) => void;

  constructor(onAbort: (task: T) => void) {
    this.#onAbort = onAbort;
  }

  add(signal: AbortSignal, task: T): void {
    let entry = this.#bySignal.get(signal);
    if (entry === undefined) {
      const tasks = new Set<T>();
      const listener = (): void => {
        this.#bySignal.delete(signal);
        for (const t of tasks) this.#onAbort(t);
        tasks.clear();
      };
      entry = { tasks, listener };
      this.#bySignal.set(signal, entry);
      signal.addEventListener('abort', listener, { once: true });
    }
    entry.tasks.add(task);
  }

  delete(signal: AbortSignal, task: T): void {
    const entry = this.#bySignal.get(signal);
    if (entry === undefined) return;
    entry.tasks.delete(task);
    if (entry.tasks.size === 0) {
      this.#bySignal.delete(signal);
      signal.removeEventListener('abort', entry.listener);
    }
  }

  /** Signals currently listened to (for tests and diagnostics). */
  get size(): number {
    return this.#bySignal.size;
  }
}
