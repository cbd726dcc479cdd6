/**
 * An append-only JSONL file written through a small in-memory buffer with
 * synchronous writes. Synchronous on purpose: the journal records byte
 * offsets, and a sync write either happened or did not when the process is
 * killed, which keeps "output before journal" trivially true. Batching keeps
 * the syscall count low.
 */

import { closeSync, fsyncSync, openSync, writevSync } from 'node:fs';

const FLUSH_BYTES = 64 * 1024;

export class JsonlFile {
  readonly path: string;
  #fd: number | undefined;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
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
  append(data: Uint8Array | string): void {
    if (data.length === 0) return;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    this.#offset += bytes.length;
    this.#written = true;
    if (this.#pendingBytes >= FLUSH_BYTES) this.flush();
  }

  /** Hands buffered records to the OS (they survive the process being killed). */
  flush(): void {
    if (this.#pending.length === 0) return;
    const fd = this.#fd ?? this.#open();
    let bufs = this.#pending;
    let left = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    // One writev per flush; a short write (rare: a full disk, a signal) goes on from where it stopped.
    while (left > 0) {
      let n = writevSync(fd, bufs);
      left -= n;
      while (n > 0 && bufs.length > 0) {
        const first = bufs[0] as Uint8Array;
        if (n >= first.length) {
          n -= first.length;
          bufs = bufs.slice(1);
        } else {
          bufs = [first.subarray(n), ...bufs.slice(1)];
          n = 0;
        }
      }
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
