/**
 * An append-only JSONL file written through a small in-memory buffer with
 * synchronous writes. Synchronous on purpose: the journal records byte
 * offsets, and a sync write either happened or did not when the process is
 * killed, which keeps "output before journal" trivially true. Batching keeps
 * the syscall count low.
 */

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

const FLUSH_BYTES = 64 * 1024;

export class JsonlFile {
  readonly path: string;
  #fd: number | undefined;
  #pending: string[] = [];
  #pendingBytes = 0;
  /** Bytes in the file plus bytes buffered: where the next record starts. */
  #offset: number;
  #dirty = false;
  #lines = 0;

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

  /** Records written by this process. */
  get lines(): number {
    return this.#lines;
  }

  /** Appends one record; `text` is a JSON value without the newline. */
  write(text: string): void {
    const line = text + '\n';
    const bytes = Buffer.byteLength(line);
    this.#pending.push(line);
    this.#pendingBytes += bytes;
    this.#offset += bytes;
    this.#lines++;
    if (this.#pendingBytes >= FLUSH_BYTES) this.flush();
  }

  /** Hands buffered records to the OS (they survive the process being killed). */
  flush(): void {
    if (this.#pending.length === 0) return;
    const fd = this.#fd ?? this.#open();
    const data = this.#pending.join('');
    this.#pending = [];
    this.#pendingBytes = 0;
    let buf = Buffer.from(data);
    while (buf.length > 0) {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    }
    this.#dirty = true;
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

  #open(): number {
    // 'a': every write lands at the end, which the journal has already truncated to `offset`.
    this.#fd = openSync(this.path, 'a');
    return this.#fd;
  }
}
