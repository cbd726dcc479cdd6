/**
 * Line-at-a-time reading of JSONL input. Pulling one line at a time from an
 * async generator over the stream's chunks is what gives backpressure: the
 * generator asks the stream for the next chunk only when its consumer asks for
 * the next line, so at most one chunk (64 KiB) plus one line is held.
 */

import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface InputLine {
  /** 1-based physical line number (blank lines count). */
  line: number;
  text: string;
}

export async function* readLines(source: AsyncIterable<Buffer | string>): AsyncGenerator<InputLine, void, undefined> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let n = 0;
  for await (const chunk of source) {
    const s = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    let nl: number;
    while ((nl = s.indexOf('\n', start)) !== -1) {
      const end = nl > start && s.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield { line: ++n, text: s.slice(start, end) };
      start = nl + 1;
    }
    carry = s.slice(start);
  }
  carry += decoder.end();
  if (carry.length > 0) yield { line: ++n, text: carry.endsWith('\r') ? carry.slice(0, -1) : carry };
}

/**
 * Counts lines the way `readLines` numbers them, without decoding: newline
 * bytes, plus one for a last line with no newline. Runs at disk speed, so
 * progress can show a total for file inputs.
 */
export async function countLines(path: string): Promise<number> {
  let count = 0;
  let last = 10;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    let i = -1;
    while ((i = buf.indexOf(10, i + 1)) !== -1) count++;
    if (buf.length > 0) last = buf[buf.length - 1] as number;
  }
  return last === 10 ? count : count + 1;
}
