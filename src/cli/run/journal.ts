/**
 * The resume journal, `<output>.journal`: an append-only log of the lines that
 * are finished, next to the output.
 *
 * Format: a JSON header line naming the task and the input, then one record
 * per finished block of lines, `<first> <count> <ok> <dead> <outputBytes>
 * <dlqBytes>`: lines first..first+count-1 are finished, `ok` of them went to
 * the output and `dead` to the dead-letter file (the rest were blank), and
 * the lengths of both files just after the block's records were written.
 * (Version 1 journals, one record per line, `<line> <o|d> <outputBytes>
 * <dlqBytes>`, are still read.)
 *
 * Protocol: a record is written to the output or DLQ first; its journal
 * record is buffered and written in a batch only after both files have been
 * fsync'd. So every journaled record is durably in its file, and the files may
 * run ahead of the journal, never behind. On resume the output and DLQ are
 * truncated to the lengths in the last journal record: whatever was written
 * after it (records not journaled, a torn last line) is dropped and redone,
 * and the done-set is exactly the journaled line numbers. That is what makes
 * "every input line exactly once in the output" hold across SIGKILL.
 */

import { closeSync, createReadStream, existsSync, fsyncSync, ftruncateSync, openSync, statSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { UsageError } from '../exit-codes.js';
import { readLines } from './jsonl-reader.js';
import type { JsonlFile } from './jsonl-writer.js';
import { LineSet } from './line-set.js';

export interface JournalHeader {
  sluice: 'journal';
  v: 1 | 2;
  task: string;
  /** The input: '-' for stdin, else the path with its size and mtime when the run began. */
  input: { path: string; size?: number; mtimeMs?: number };
}

export interface Recovered {
  /** Line numbers finished by earlier runs (in the output or the DLQ). */
  done: LineSet;
  ok: number;
  dead: number;
  outputBytes: number;
  dlqBytes: number;
  resumed: boolean;
}

export class Journal {
  readonly path: string;
  #fd: number;
  #batch: string[] = [];

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  /**
   * Opens the journal for `output`: recovers the done-set and truncates the
   * output and DLQ to their journaled lengths; or, with `fresh` or no
   * journal, starts over (empty output, no DLQ).
   */
  static async open(path: string, header: JournalHeader, output: string, dlq: string, fresh: boolean): Promise<{ journal: Journal; recovered: Recovered }> {
    if (fresh || !existsSync(path)) {
      const fd = openSync(path, 'w');
      writeSync(fd, JSON.stringify(header) + '\n');
      fsyncSync(fd);
      closeSync(openSync(output, 'w'));
      if (existsSync(dlq)) unlinkSync(dlq);
      return {
        journal: new Journal(path, openSync(path, 'a')),
        recovered: { done: new LineSet(), ok: 0, dead: 0, outputBytes: 0, dlqBytes: 0, resumed: false },
      };
    }
    const recovered = await recover(path, header);
    truncateTo(output, recovered.outputBytes, 'output');
    truncateTo(dlq, recovered.dlqBytes, 'dead-letter file');
    return { journal: new Journal(path, openSync(path, 'a')), recovered };
  }

  /** Notes that lines first..first+count-1 are finished; their records are in the output and DLQ, which are now `outputBytes`/`dlqBytes` long. */
  record(first: number, count: number, ok: number, dead: number, outputBytes: number, dlqBytes: number): void {
    this.#batch.push(`${first} ${count} ${ok} ${dead} ${outputBytes} ${dlqBytes}\n`);
  }

  /** Makes the output and DLQ durable, then the journal records that point into them. */
  commit(output: JsonlFile, dlq: JsonlFile): void {
    output.sync();
    dlq.sync();
    if (this.#batch.length === 0) return;
    const buf = Buffer.from(this.#batch.join(''));
    this.#batch = [];
    let rest = buf;
    while (rest.length > 0) rest = rest.subarray(writeSync(this.#fd, rest));
    fsyncSync(this.#fd);
  }

  close(output: JsonlFile, dlq: JsonlFile): void {
    this.commit(output, dlq);
    closeSync(this.#fd);
  }
}

async function recover(path: string, expected: JournalHeader): Promise<Recovered> {
  const size = statSync(path).size;
  const done = new LineSet();
  let ok = 0;
  let dead = 0;
  let outputBytes = 0;
  let dlqBytes = 0;
  let validBytes = 0;
  let header: JournalHeader | undefined;
  for await (const { line, text } of readLines(createReadStream(path))) {
    const bytes = Buffer.byteLength(text) + 1;
    // A last line without its newline was torn by a crash mid-write: ignore it.
    if (validBytes + bytes > size) break;
    if (line === 1) {
      header = parseHeader(text, path);
      checkHeader(header, expected, path);
    } else {
      const m = /^(\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/.exec(text);
      const v1 = m === null ? /^(\d+) ([od]) (\d+) (\d+)$/.exec(text) : null;
      if (m === null && v1 === null) throw new UsageError(`journal ${path} is corrupt at line ${line}: ${JSON.stringify(text.slice(0, 60))}; pass --fresh to start over`);
      if (m !== null) {
        // A block is journaled once, after all its lines are finished.
        const first = Number(m[1]);
        const count = Number(m[2]);
        for (let n = first; n < first + count; n++) done.add(n);
        ok += Number(m[3]);
        dead += Number(m[4]);
        outputBytes = Number(m[5]);
        dlqBytes = Number(m[6]);
      } else if (v1 !== null) {
        const n = Number(v1[1]);
        if (!done.has(n)) {
          done.add(n);
          if (v1[2] === 'o') ok++;
          else dead++;
        }
        outputBytes = Number(v1[3]);
        dlqBytes = Number(v1[4]);
      }
    }
    validBytes += bytes;
  }
  if (header === undefined) {
    // Killed before the header was durable: nothing was journaled, so nothing is done.
    truncateSync(path, 0);
    const fd2 = openSync(path, 'w');
    writeSync(fd2, JSON.stringify(expected) + '\n');
    fsyncSync(fd2);
    closeSync(fd2);
    return { done, ok: 0, dead: 0, outputBytes: 0, dlqBytes: 0, resumed: false };
  }
  if (validBytes < size) truncateSync(path, validBytes);
  return { done, ok, dead, outputBytes, dlqBytes, resumed: true };
}

function parseHeader(text: string, path: string): JournalHeader {
  let h: unknown;
  try {
    h = JSON.parse(text);
  } catch {
    h = undefined;
  }
  const rec = h as Partial<JournalHeader> | undefined;
  // Version 1 differs only in its records, which recover() reads too.
  if (rec?.sluice !== 'journal' || (rec.v !== 1 && rec.v !== 2) || typeof rec.task !== 'string' || typeof rec.input?.path !== 'string') {
    throw new UsageError(`${path} is not a sluice journal (or is from another version); pass --fresh to start over`);
  }
  return rec as JournalHeader;
}

function checkHeader(got: JournalHeader, want: JournalHeader, path: string): void {
  const problems: string[] = [];
  if (got.task !== want.task) problems.push(`task "${got.task}", not "${want.task}"`);
  if (got.input.path !== want.input.path) problems.push(`input ${got.input.path}, not ${want.input.path}`);
  else if (got.input.size !== want.input.size || got.input.mtimeMs !== want.input.mtimeMs) problems.push(`input ${got.input.path} as it was then (it has changed since)`);
  if (problems.length > 0) {
    throw new UsageError(`journal ${path} belongs to another run (${problems.join('; ')}); pass --fresh to start over, or delete it`);
  }
}

function truncateTo(path: string, bytes: number, what: string): void {
  const size = existsSync(path) ? statSync(path).size : 0;
  if (size < bytes) {
    throw new UsageError(`${what} ${path} is shorter (${size} bytes) than its journal records (${bytes} bytes); it was changed by hand? pass --fresh to start over`);
  }
  if (size > bytes) {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
