import { RingQueue } from './ring.js';

/** What a queue needs to know of a task: whether it is still waiting in one. */
export interface Queueable {
  queued: boolean;
}

/**
 * The queue contract the scheduler relies on. Small on purpose: a FIFO today,
 * a priority heap behind the same methods.
 */
export interface TaskQueue<T extends Queueable> {
  /** Tasks waiting (not counting those deleted early). */
  readonly size: number;
  push(task: T): void;
  /** Requeues at the front: a task whose worker died before it started. */
  unshift(task: T): void;
  shift(): T | undefined;
  /** The task `shift` would return, left in place. */
  peek(): T | undefined;
  /** Takes a task out before its turn (aborted, deadline passed). */
  delete(task: T): void;
  /** Empties the queue and returns what was waiting, in order. */
  drain(): T[];
  /** Removes and returns the task that has waited longest (`drop-oldest`). */
  evictOldest(): T | undefined;
  /** The tasks waiting, in no promised order, left in place. */
  snapshot(): T[];
}

/**
 * FIFO over a ring buffer. Deleting from the middle leaves a tombstone (the
 * task's `queued` flag is cleared) that `shift` skips, so an abort is O(1);
 * the buffer is compacted when tombstones outnumber live tasks, so a stream
 * of aborted tasks cannot grow it without bound.
 */
export class FifoQueue<T extends Queueable> implements TaskQueue<T> {
  #ring = new RingQueue<T>();
  #live = 0;

  get size(): number {
    return this.#live;
  }

  push(task: T): void {
    task.queued = true;
    this.#ring.push(task);
    this.#live++;
  }

  unshift(task: T): void {
    task.queued = true;
    this.#ring.unshift(task);
    this.#live++;
  }

  peek(): T | undefined {
    for (;;) {
      const task = this.#ring.peek();
      if (task === undefined || task.queued) return task;
      this.#ring.shift(); // a tombstone: drop it now rather than at the next shift
    }
  }

  shift(): T | undefined {
    for (;;) {
      const task = this.#ring.shift();
      if (task === undefined) return undefined;
      if (!task.queued) continue;
      task.queued = false;
      this.#live--;
      return task;
    }
  }

  delete(task: T): void {
    if (!task.queued) return;
    task.queued = false;
    this.#live--;
    const tombstones = this.#ring.size - this.#live;
    if (tombstones > 64 && tombstones > this.#live) this.#ring.removeWhere((t) => !t.queued);
  }

  drain(): T[] {
    const out: T[] = [];
    for (let t = this.shift(); t !== undefined; t = this.shift()) out.push(t);
    return out;
  }

  evictOldest(): T | undefined {
    return this.shift();
  }

  snapshot(): T[] {
    const out: T[] = [];
    for (const t of this.#ring) if (t.queued) out.push(t);
    return out;
  }
}
