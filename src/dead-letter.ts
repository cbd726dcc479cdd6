/**
 * The dead-letter queue: where every task that finally fails, is dropped by
 * an overflow policy, or misses its deadline is recorded, so nothing leaves
 * the pool silently. Three sinks: bounded memory (default), an append-only
 * JSON-lines file, or a callback.
 */

import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { InvalidOptionError } from './errors.js';
import { plainObject, positiveInt } from './validate-helpers.js';

export interface DeadLetterError {
  name: string;
  code: string | undefined;
  message: string;
  stack: string | undefined;
}

export interface DeadLetter {
  /** The pool's task id. */
  taskId: number;
  taskName: string;
  /** A copy of the input, or `undefined` when it cannot be cloned (see `inputCloneable`). */
  input: unknown;
  inputCloneable: boolean;
  /** Why it is here. */
  reason: 'failed' | 'dropped' | 'deadline';
  error: DeadLetterError;
  /** Tries made (1 when it was never retried; 0 when it never ran). */
  attempts: number;
  correlationId: string;
  /** Wall-clock milliseconds since the epoch. */
  submittedAt: number;
  finishedAt: number;
}

export type DeadLetterOption =
  | false
  | { kind: 'memory'; capacity?: number }
  | { kind: 'file'; path: string }
  | { kind: 'callback'; onEntry: (entry: DeadLetter) => void };

export interface DeadLetterSink {
  write(entry: DeadLetter): void;
  /** The entries held (memory, file); a callback sink holds none. */
  list(): DeadLetter[];
  /** Removes and returns the entries `filter` accepts. */
  take(filter: (entry: DeadLetter) => boolean): DeadLetter[];
  /** Entries evicted for lack of room (memory sink). */
  readonly evicted: number;
  close(): void;
}

/** Bounded in memory: past `capacity` the oldest entry is evicted (and counted). */
export class MemorySink implements DeadLetterSink {
  #entries: DeadLetter[] = [];
  #capacity: number;
  evicted = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  write(entry: DeadLetter): void {
    this.#entries.push(entry);
    if (this.#entries.length > this.#capacity) {
      this.#entries.shift();
      this.evicted++;
    }
  }

  list(): DeadLetter[] {
    return [...this.#entries];
  }

  take(filter: (entry: DeadLetter) => boolean): DeadLetter[] {
    const taken: DeadLetter[] = [];
    this.#entries = this.#entries.filter((e) => {
      if (!filter(e)) return true;
      taken.push(e);
      return false;
    });
    return taken;
  }

  close(): void {}
}

/**
 * Append-only JSON lines. Each entry is one `write` of one whole line on a
 * file opened for appending, so entries never interleave. A line cut short by
 * a crash of this process is cut off when the file is next opened, so the
 * file always parses. `close()` fsyncs.
 */
export class FileSink implements DeadLetterSink {
  readonly path: string;
  #fd: number;
  evicted = 0;

  constructor(path: string) {
    this.path = path;
    repairTail(path);
    this.#fd = openSync(path, 'a');
  }

  write(entry: DeadLetter): void {
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch {
      // The input has no JSON form (a BigInt, a cycle): keep the rest of the record.
      line = JSON.stringify({ ...entry, input: undefined, inputCloneable: false });
    }
    writeSync(this.#fd, `${line}\n`);
  }

  list(): DeadLetter[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as DeadLetter);
  }

  take(filter: (entry: DeadLetter) => boolean): DeadLetter[] {
    const all = this.list();
    const keep: string[] = [];
    const taken: DeadLetter[] = [];
    for (const e of all) {
      if (filter(e)) taken.push(e);
      else keep.push(`${JSON.stringify(e)}\n`);
    }
    if (taken.length === 0) return taken;
    // Rewrite through a temporary file and rename, so a crash leaves either the old or the new file.
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, keep.join(''));
    const fd = openSync(tmp, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    closeSync(this.#fd);
    renameSync(tmp, this.path);
    this.#fd = openSync(this.path, 'a');
    return taken;
  }

  close(): void {
    if (this.#fd === -1) return;
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** Hands each entry to a function and keeps nothing. A throwing callback is reported on stderr, not on the task. */
export class CallbackSink implements DeadLetterSink {
  readonly evicted = 0;
  #fn: (entry: DeadLetter) => void;
  constructor(fn: (entry: DeadLetter) => void) {
    this.#fn = fn;
  }
  write(entry: DeadLetter): void {
    try {
      this.#fn(entry);
    } catch (err) {
      process.emitWarning(`sluice dead-letter callback threw: ${err instanceof Error ? err.message : String(err)}`, 'SluiceWarning');
    }
  }
  list(): DeadLetter[] {
    return [];
  }
  take(): DeadLetter[] {
    return [];
  }
  close(): void {}
}

/** Cuts a file back to its last complete line. */
function repairTail(path: string): void {
  if (!existsSync(path)) return;
  const size = statSync(path).size;
  if (size === 0) return;
  const fd = openSync(path, 'r+');
  try {
    const chunk = Buffer.alloc(Math.min(size, 1 << 16));
    let end = size;
    for (;;) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (nl !== -1) {
        const keep = start + nl + 1;
        if (keep !== size) ftruncateSync(fd, keep);
        return;
      }
      if (start === 0) {
        ftruncateSync(fd, 0);
        return;
      }
      end = start;
    }
  } finally {
    closeSync(fd);
  }
}

export function createDeadLetterSink(value: unknown): DeadLetterSink | undefined {
  if (value === undefined) return new MemorySink(1000);
  if (value === false) return undefined;
  const o = plainObject('deadLetter', value);
  switch (o.kind) {
    case 'memory':
      return new MemorySink(o.capacity === undefined ? 1000 : positiveInt('deadLetter.capacity', o.capacity));
    case 'file':
      if (typeof o.path !== 'string' || o.path.length === 0) throw new InvalidOptionError('deadLetter.path', 'a file path', o.path);
      return new FileSink(o.path);
    case 'callback':
      if (typeof o.onEntry !== 'function') throw new InvalidOptionError('deadLetter.onEntry', 'a function (entry) => void', o.onEntry);
      return new CallbackSink(o.onEntry as (entry: DeadLetter) => void);
    default:
      throw new InvalidOptionError('deadLetter.kind', "one of 'memory', 'file', 'callback'", o.kind);
  }
}

export function describeError(err: unknown): DeadLetterError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, code: typeof code === 'string' ? code : undefined, message: err.message, stack: err.stack };
  }
  return { name: 'NonError', code: undefined, message: String(err), stack: undefined };
}

export function cloneInput(input: unknown): { input: unknown; cloneable: boolean } {
  try {
    return { input: structuredClone(input), cloneable: true };
  } catch {
    return { input: undefined, cloneable: false };
  }
}
