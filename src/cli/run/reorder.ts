/**
 * `--ordered`: releases outcomes in input order. Outcomes that finish early
 * wait here until every earlier line has one. The runner bounds how far the
 * reader may run ahead of the oldest unreleased line, which bounds this
 * buffer by the same number.
 */
export class ReorderBuffer<T> {
  readonly #held = new Map<number, T>();
  #next: number;
  readonly #release: (line: number, value: T) => void;

  constructor(firstLine: number, release: (line: number, value: T) => void) {
    this.#next = firstLine;
    this.#release = release;
  }

  get held(): number {
    return this.#held.size;
  }

  push(line: number, value: T): void {
    if (line !== this.#next) {
      this.#held.set(line, value);
      return;
    }
    this.#release(line, value);
    this.#next++;
    for (let v = this.#held.get(this.#next); v !== undefined || this.#held.has(this.#next); v = this.#held.get(this.#next)) {
      this.#held.delete(this.#next);
      this.#release(this.#next, v as T);
      this.#next++;
    }
  }
}
