/**
 * The dead-letter queue: where every task that finally fails, is dropped by
 * an overflow policy, or misses its deadline is recorded, so nothing leaves
 * the pool silently. Three sinks: bounded memory (default), an append-only
 * JSON-lines file, or a callback.
 *
 * A sink never throws from `write` (nor later, from a callback's promise):
 * an entry it cannot record (a full disk, a callback that throws or
 * rejects) is kept in memory instead, bounded like the memory sink, so
 * `list()` and `redrive()` still see it, and the sink's `onError` hook (set
 * by the pool) is told.
 */

import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidOptionError } from '../api/errors.js';
import { plainObject, positiveInt } from '../config/validate-helpers.js';

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
  | { kind: 'callback'; onEntry: (entry: DeadLetter) => unknown };

/** Entries a failing file or callback sink keeps in memory at most (the oldest are evicted past it). */
export const FALLBACK_CAPACITY = 1000;

export interface DeadLetterSink {
  /**
   * Records an entry. Never throws, and never fails later either (a
   * callback's rejected promise included): an entry that cannot be recorded
   * is kept in memory (at most `FALLBACK_CAPACITY`) and `onError` is called.
   */
  write(entry: DeadLetter): void;
  /** The entries held (memory, file), plus those a failing sink kept in memory. */
  list(): DeadLetter[];
  /** Removes and returns the entries `filter` accepts. */
  take(filter: (entry: DeadLetter) => boolean): DeadLetter[];
  /** Entries evicted for lack of room (memory sink, or the memory a failing sink falls back on). */
  readonly evicted: number;
  /**
   * Set by the pool: told when the sink failed to record `entry` (the entry
   * is already kept in memory when it is called). Called from `write` itself
   * when the failure is synchronous (a file write, a callback that throws),
   * later when a callback's promise rejects. What it throws is ignored.
   * Without it a failure is reported as a process warning.
   */
  onError?: ((err: unknown, entry: DeadLetter) => void) | undefined;
  /** Flushes and releases the sink. Never throws (a failure is reported as a process warning). */
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

/** Keeps `entry` in the fallback memory, then tells the sink's hook (or, without one, emits a warning). Never throws. */
function failed(sink: DeadLetterSink, fallback: MemorySink, err: unknown, entry: DeadLetter): void {
  fallback.write(entry);
  const hook = sink.onError;
  if (hook === undefined) {
    warn(`sluice dead-letter sink could not record task ${entry.taskId} ("${entry.taskName}", ${entry.correlationId}); kept in memory: ${errorText(err)}`);
    return;
  }
  try {
    hook(err, entry);
  } catch {
    // The hook is the pool's own reporting; a failure there must not reach the task.
  }
}

function errorText(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return 'an error that cannot be described';
  }
}

function warn(message: string): void {
  try {
    process.emitWarning(message, 'SluiceWarning');
  } catch {
    // Nothing left to report to.
  }
}

/** One JSON line per entry; an input with no JSON form (a BigInt, a cycle) is left out, the rest of the record kept. */
function toLine(entry: DeadLetter): string {
  try {
    return `${JSON.stringify(entry)}\n`;
  } catch {
    return `${JSON.stringify({ ...entry, input: undefined, inputCloneable: false })}\n`;
  }
}

/**
 * Append-only JSON lines. Each entry is one `write` of one whole line on a
 * file opened for appending, so entries never interleave. A line cut short by
 * a crash of this process is cut off when the file is next opened, so the
 * file always parses. `close()` fsyncs.
 *
 * A write that fails (a full disk, an I/O error, the sink closed) keeps the
 * entry in memory and calls `onError`; whatever part of the line reached the
 * file is cut off again, so the file still parses.
 */
export class FileSink implements DeadLetterSink {
  readonly path: string;
  onError: ((err: unknown, entry: DeadLetter) => void) | undefined;
  #fd: number;
  readonly #fallback = new MemorySink(FALLBACK_CAPACITY);
  /** A failed write left part of a line that could not be cut off: the next line starts on a new one. */
  #torn = false;

  constructor(path: string) {
    this.path = path;
    repairTail(path);
    this.#fd = openSync(path, 'a');
  }

  get evicted(): number {
    return this.#fallback.evicted;
  }

  write(entry: DeadLetter): void {
    let written = 0;
    try {
      if (this.#fd === -1) throw new Error(`dead-letter file ${this.path} is closed`);
      const buf = Buffer.from(this.#torn ? `\n${toLine(entry)}` : toLine(entry));
      while (written < buf.length) written += writeSync(this.#fd, buf, written, buf.length - written);
      this.#torn = false;
    } catch (err) {
      if (written > 0) this.#cutPartial(written);
      failed(this, this.#fallback, err, entry);
    }
  }

  /** Removes the `written` bytes of a line that could not be finished. */
  #cutPartial(written: number): void {
    try {
      ftruncateSync(this.#fd, fstatSync(this.#fd).size - written);
    } catch {
      this.#torn = true;
    }
  }

  /** The file's entries (lines that do not parse are skipped), then those kept in memory. A path that is not a regular file (a device) lists only the latter. */
  list(): DeadLetter[] {
    return [...this.#readFile(), ...this.#fallback.list()];
  }

  #readFile(): DeadLetter[] {
    if (!existsSync(this.path) || !statSync(this.path).isFile()) return [];
    const out: DeadLetter[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line.length === 0) continue;
      try {
        out.push(JSON.parse(line) as DeadLetter);
      } catch {
        // A fragment left by a failed write that could not be cut off.
      }
    }
    return out;
  }

  take(filter: (entry: DeadLetter) => boolean): DeadLetter[] {
    const all = this.#readFile();
    const keep: string[] = [];
    const taken: DeadLetter[] = [];
    for (const e of all) {
      if (filter(e)) taken.push(e);
      else keep.push(`${JSON.stringify(e)}\n`);
    }
    if (taken.length > 0) {
      // Rewrite through a temporary file and rename, so a crash leaves either the old or the new file.
      const tmp = `${this.path}.tmp-${process.pid}`;
      try {
        writeFileSync(tmp, keep.join(''));
        const fd = openSync(tmp, 'r+');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
      if (this.#fd !== -1) closeSync(this.#fd);
      this.#fd = -1;
      renameSync(tmp, this.path);
      this.#fd = openSync(this.path, 'a');
      this.#torn = false;
    }
    return [...taken, ...this.#fallback.take(filter)];
  }

  close(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      fsyncSync(fd);
    } catch (err) {
      // A device (EINVAL) or a disk that failed: the data is as safe as it will get.
      if ((err as { code?: unknown }).code !== 'EINVAL') warn(`sluice dead-letter file ${this.path} could not be synced on close: ${errorText(err)}`);
    }
    try {
      closeSync(fd);
    } catch (err) {
      warn(`sluice dead-letter file ${this.path} could not be closed: ${errorText(err)}`);
    }
  }
}

/**
 * Hands each entry to a function and keeps nothing, unless the function
 * throws or returns a promise that rejects: then the entry is kept in
 * memory (`list()`, `redrive()`) and `onError` is called; the task is never
 * affected.
 */
export class CallbackSink implements DeadLetterSink {
  onError: ((err: unknown, entry: DeadLetter) => void) | undefined;
  #fn: (entry: DeadLetter) => unknown;
  readonly #fallback = new MemorySink(FALLBACK_CAPACITY);
  constructor(fn: (entry: DeadLetter) => unknown) {
    this.#fn = fn;
  }
  get evicted(): number {
    return this.#fallback.evicted;
  }
  write(entry: DeadLetter): void {
    try {
      const r = this.#fn(entry);
      if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as PromiseLike<void>).then === 'function') {
        (r as PromiseLike<void>).then(undefined, (err: unknown) => failed(this, this.#fallback, err, entry));
      }
    } catch (err) {
      failed(this, this.#fallback, err, entry);
    }
  }
  list(): DeadLetter[] {
    return this.#fallback.list();
  }
  take(filter: (entry: DeadLetter) => boolean): DeadLetter[] {
    return this.#fallback.take(filter);
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

/** A file sink, or an InvalidOptionError naming `deadLetter.path` when the file cannot be opened for appending. */
function openFileSink(path: string): FileSink {
  const dir = dirname(path);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new InvalidOptionError('deadLetter.path', `a file in an existing directory (${dir} does not exist or is not a directory)`, path);
  try {
    return new FileSink(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const invalid = new InvalidOptionError('deadLetter.path', `a file that can be opened for appending (${typeof code === 'string' ? code : errorText(err)})`, path);
    invalid.cause = err;
    throw invalid;
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
      return openFileSink(o.path);
    case 'callback':
      if (typeof o.onEntry !== 'function') throw new InvalidOptionError('deadLetter.onEntry', 'a function (entry) => void', o.onEntry);
      return new CallbackSink(o.onEntry as (entry: DeadLetter) => unknown);
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
