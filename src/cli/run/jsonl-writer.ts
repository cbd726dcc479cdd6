/**
 * An append-only JSONL file written through an in-memory buffer with
 * synchronous writes. Synchronous on purpose: the journal records byte
 * offsets, and a sync write either happened or did not when the process is
 * killed, which keeps "output before journal" trivially true. Records
 * arrive as strings (blocks of them, from the workers) and are encoded
 * straight into one preallocated buffer: encoding into place is several
 * times cheaper than allocating a Buffer per block.
 */

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

const BUFFER_BYTES = 256 * 1024;

export class JsonlFile {
  readonly path: string;
  #fd: number | undefined;
  readonly #buf = Buffer.allocUnsafe(BUFFER_BYTES);
  #used = 0;
  /** Bytes in the file plus bytes buffered: where the next record starts. */
  #offset: number;
  #dirty = false;
  #written = false;

  /**
   * @param offset the file's current length; the file must already be that
   *   long (the journal truncates it on resume). With `lazy`, the file is
   *   created on the first write, so a run without failures leaves no empty DLQ.
   */
  constructor(path: string, offset: number, lazy: boolean) {
    this.path = path;
    this.#offset = offset;
    if (!lazy) this.#open();
  }

  get offset(): number {
    return this.#offset;
  }

  /** Whether this process wrote to it. */
  get written(): boolean {
    return this.#written;
  }

  /** Appends whole records, each ending in a newline. */
  append(text: string): void {
    if (text.length === 0) return;
    this.#written = true;
    // At most 3 bytes per UTF-16 unit.
    if (this.#used + text.length * 3 > BUFFER_BYTES) this.flush();
    if (text.length * 3 > BUFFER_BYTES) {
      const bytes = Buffer.from(text);
      this.#writeAll(bytes);
      this.#offset += bytes.length;
      return;
    }
    const n = this.#buf.write(text, this.#used);
    this.#used += n;
    this.#offset += n;
  }

  /** Hands buffered records to the OS (they survive the process being killed). */
  flush(): void {
    if (this.#used === 0) return;
    this.#writeAll(this.#buf.subarray(0, this.#used));
    this.#used = 0;
  }

  /** Flushes, then makes the data durable (survives a machine crash). */
  sync(): void {
    this.flush();
    if (this.#dirty && this.#fd !== undefined) {
      fsyncSync(this.#fd);
      this.#dirty = false;
    }
  }

  close(): void {
    this.sync();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #writeAll(bytes: Uint8Array): void {
    const fd = this.#fd ?? this.#open();
    // A short write (rare: a full disk, a signal) goes on from where it stopped.
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    this.#dirty = true;
  }

  #open(): number {
    // 'a': every write lands at the end, which the journal has already truncated to `offset`.
    this.#fd = openSync(this.path, 'a');
    return this.#fd;
  }
}
