import type { Clock, TimerHandle } from './clock.js';

export interface TimerEntry {
  at: number;
  /** Index in the heap; -1 when not scheduled. */
  index: number;
  fire(): void;
}

/**
 * Many timeouts, one armed timer. Task timeouts, deadlines and queue timeouts
 * are kept in a binary min-heap by due time; only the earliest is armed on the
 * clock. This replaces one Node timer per task with one per pool, and
 * cancelling is O(log n) without waking the event loop.
 */
export class TimerHeap {
  #heap: TimerEntry[] = [];
  #clock: Clock;
  #armed: TimerHandle | undefined;
  #armedAt = Infinity;
  #onTick = (): void => this.#tick();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#heap.length;
  }

  schedule(entry: TimerEntry, at: number): void {
    if (entry.index !== -1) this.cancel(entry);
    entry.at = at;
    entry.index = this.#heap.length;
    this.#heap.push(entry);
    this.#up(entry.index);
    if (at < this.#armedAt) this.#arm();
  }

  cancel(entry: TimerEntry): void {
    const i = entry.index;
    if (i === -1) return;
    const last = this.#heap.pop() as TimerEntry;
    entry.index = -1;
    if (last !== entry) {
      this.#heap[i] = last;
      last.index = i;
      this.#down(i);
      this.#up(last.index);
    }
    if (this.#heap.length === 0) this.#disarm();
  }

  clear(): void {
    for (const e of this.#heap) e.index = -1;
    this.#heap = [];
    this.#disarm();
  }

  #tick(): void {
    this.#armed = undefined;
    this.#armedAt = Infinity;
    const now = this.#clock.now();
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.at > now) break;
      this.cancel(top);
      top.fire();
    }
    if (this.#heap.length > 0) this.#arm();
  }

  #arm(): void {
    const top = this.#heap[0];
    if (top === undefined) return;
    if (this.#armed !== undefined) {
      if (this.#armedAt <= top.at) return;
      this.#clock.clearTimeout(this.#armed);
    }
    this.#armedAt = top.at;
    this.#armed = this.#clock.setTimeout(this.#onTick, Math.max(0, top.at - this.#clock.now()));
  }

  #disarm(): void {
    if (this.#armed !== undefined) this.#clock.clearTimeout(this.#armed);
    this.#armed = undefined;
    this.#armedAt = Infinity;
  }

  // The sift code is this heap's own rather than src/queue/heap.ts's: time/
  // may not import queue/ (the layers in eslint.config.js), and every move
  // here also writes the entry's `index`, which makes `cancel` O(log n)
  // (a generic helper would need a callback per move for it).
  #up(i: number): void {
    const h = this.#heap;
    const e = h[i] as TimerEntry;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p] as TimerEntry;
      if (pe.at <= e.at) break;
      h[i] = pe;
      pe.index = i;
      i = p;
    }
    h[i] = e;
    e.index = i;
  }

  #down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const e = h[i] as TimerEntry;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (h[r] as TimerEntry).at < (h[l] as TimerEntry).at ? r : l;
      const ce = h[c] as TimerEntry;
      if (ce.at >= e.at) break;
      h[i] = ce;
      ce.index = i;
      i = c;
    }
    h[i] = e;
    e.index = i;
  }
}

/** A TimerEntry that runs a callback: for pool-level timers (close timeout, idle retirement). */
export class CallbackTimer implements TimerEntry {
  at = 0;
  index = -1;
  readonly fire: () => void;
  constructor(fire: () => void) {
    this.fire = fire;
  }
}
