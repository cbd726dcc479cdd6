import { RingQueue } from './ring.js';
import type { TaskQueue } from './task-queue.js';
import { heapPop, heapPush, type Before } from './heap.js';

/** What the priority queue reads off a task. */
export interface Prioritized {
  queued: boolean;
  /** Bumped each time the task enters a queue; stale heap entries are told apart by it. */
  qgen: number;
  /** Ordering key: higher runs first. Priority, lowered by submission time when aging is on. */
  qkey: number;
}

interface Entry<T> {
  readonly task: T;
  readonly gen: number;
  readonly key: number;
  /** The task's own key, which eviction goes by: a task put back at the front (key Infinity) is no safer from `drop-lowest-priority` for it. */
  readonly own: number;
  /** Insertion order; negative for tasks put back at the front. */
  readonly seq: number;
}

/**
 * A priority queue over binary heaps. Higher `qkey` first; FIFO among equal
 * keys. Besides the max-heap that feeds dispatch, it keeps a min-heap (the
 * lowest-priority, newest task: what `drop-lowest-priority` evicts) and an
 * insertion-order ring (the oldest task: what `drop-oldest` evicts), so every
 * operation is O(log n).
 *
 * Removal is lazy: a task leaving by one door leaves stale entries behind
 * the others, recognised by `qgen` and skipped; the structures are rebuilt
 * when stale entries outnumber live ones, so they stay O(live).
 */
export class PriorityQueue<T extends Prioritized> implements TaskQueue<T> {
  #max: Entry<T>[] = [];
  #min: Entry<T>[] = [];
  #order = new RingQueue<Entry<T>>();
  #live = 0;
  #seq = 0;
  #front = 0;

  get size(): number {
    return this.#live;
  }

  push(task: T): void {
    this.#insert(task, task.qkey, ++this.#seq);
  }

  unshift(task: T): void {
    // Back at the very front, ahead of everything, most recently put back first.
    this.#insert(task, Infinity, -(++this.#front));
  }

  shift(): T | undefined {
    const e = this.#popLive(this.#max, higherFirst);
    return e === undefined ? undefined : this.#take(e);
  }

  peek(): T | undefined {
    for (;;) {
      const e = this.#max[0];
      if (e === undefined || alive(e)) return e?.task;
      heapPop(this.#max, higherFirst); // stale: its task left by another door
    }
  }

  delete(task: T): void {
    if (!task.queued) return;
    task.queued = false;
    this.#live--;
    this.#maybeCompact();
  }

  drain(): T[] {
    const out: T[] = [];
    for (let t = this.shift(); t !== undefined; t = this.shift()) out.push(t);
    return out;
  }

  snapshot(): T[] {
    return this.#max.filter(alive).map((e) => e.task);
  }

  /** The task `drop-lowest-priority` would evict, without removing it. */
  peekLowest(): T | undefined {
    this.#dropStale(this.#min, lowerFirst);
    return this.#min[0]?.task;
  }

  /** Removes and returns the lowest-priority task (newest among equals). */
  evictLowest(): T | undefined {
    const e = this.#popLive(this.#min, lowerFirst);
    return e === undefined ? undefined : this.#take(e);
  }

  /** Removes and returns the task that has waited longest. */
  evictOldest(): T | undefined {
    for (;;) {
      const e = this.#order.shift();
      if (e === undefined) return undefined;
      if (alive(e)) return this.#take(e);
    }
  }

  #insert(task: T, key: number, seq: number): void {
    task.queued = true;
    task.qgen++;
    const e: Entry<T> = { task, gen: task.qgen, key, own: task.qkey, seq };
    heapPush(this.#max, e, higherFirst);
    heapPush(this.#min, e, lowerFirst);
    if (seq > 0) this.#order.push(e);
    else this.#order.unshift(e);
    this.#live++;
  }

  #take(e: Entry<T>): T {
    e.task.queued = false;
    this.#live--;
    this.#maybeCompact();
    return e.task;
  }

  #popLive(heap: Entry<T>[], before: EntryBefore<T>): Entry<T> | undefined {
    for (;;) {
      const e = heapPop(heap, before);
      if (e === undefined || alive(e)) return e;
    }
  }

  #dropStale(heap: Entry<T>[], before: EntryBefore<T>): void {
    while (heap.length > 0 && !alive(heap[0] as Entry<T>)) heapPop(heap, before);
  }

  #maybeCompact(): void {
    const stale = this.#max.length - this.#live;
    if (stale <= 64 || stale <= this.#live) return;
    const live = this.#max.filter(alive);
    this.#max = [];
    this.#min = [];
    for (const e of live) {
      heapPush(this.#max, e, higherFirst);
      heapPush(this.#min, e, lowerFirst);
    }
    const order = new RingQueue<Entry<T>>();
    for (const e of this.#order) if (alive(e)) order.push(e);
    this.#order = order;
  }
}

type EntryBefore<T> = Before<Entry<T>>;

function alive<T extends Prioritized>(e: Entry<T>): boolean {
  return e.task.queued && e.task.qgen === e.gen;
}

/** Dispatch order: higher key, then earlier. */
function higherFirst<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.key > b.key || (a.key === b.key && a.seq < b.seq);
}

/** Eviction order: lower own key, then later (the one that would run last). */
function lowerFirst<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.own < b.own || (a.own === b.own && a.seq > b.seq);
}
