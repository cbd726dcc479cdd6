/**
 * The set of line numbers a journal says are done, as a growable bitmap: one
 * bit per line, so resuming a ten-million-line job costs about 1.2 MiB rather
 * than a Set's hundreds.
 */
export class LineSet {
  #bits = new Uint8Array(1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(line: number): void {
    const byte = line >>> 3;
    if (byte >= this.#bits.length) {
      let len = this.#bits.length;
      while (len <= byte) len *= 2;
      const next = new Uint8Array(len);
      next.set(this.#bits);
      this.#bits = next;
    }
    const mask = 1 << (line & 7);
    if (((this.#bits[byte] as number) & mask) === 0) {
      this.#bits[byte] = (this.#bits[byte] as number) | mask;
      this.#size++;
    }
  }

  has(line: number): boolean {
    const byte = line >>> 3;
    if (byte >= this.#bits.length) return false;
    return ((this.#bits[byte] as number) & (1 << (line & 7))) !== 0;
  }
}
