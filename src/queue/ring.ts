/**
 * A growable ring-buffer FIFO. `shift` and `push` are O(1) and allocate
 * nothing once the buffer has grown to the working size, which keeps the
 * dispatch path free of per-task garbage (Array#shift is O(n) on large
 * arrays and reallocates).
 */
export class RingQueue<T> {
  #buf: (T | undefined)[];
  #head = 0;
  #size = 0;
  #mask: number;

  constructor(initialCapacity = 16) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.#buf = new Array<T | undefined>(cap);
    this.#mask = cap - 1;
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Puts `item` at the front, so it is the next one out. */
  unshift(item: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#buf[this.#head] = item;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#buf[this.#head];
  }

  /** Removes every item for which `drop` returns true, keeping order. O(n). */
  removeWhere(drop: (item: T) => boolean): number {
    let kept = 0;
    const n = this.#size;
    for (let i = 0; i < n; i++) {
      const item = this.#buf[(this.#head + i) & this.#mask] as T;
      if (!drop(item)) {
        this.#buf[(this.#head + kept) & this.#mask] = item;
        kept++;
      }
    }
    for (let i = kept; i < n; i++) this.#buf[(this.#head + i) & this.#mask] = undefined;
    this.#size = kept;
    return n - kept;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#buf[(this.#head + i) & this.#mask] as T;
  }

  #grow(): void {
    const old = this.#buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#buf = next;
    this.#head = 0;
    this.#mask = next.length - 1;
  }
}
