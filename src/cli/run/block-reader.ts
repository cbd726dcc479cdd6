/**
 * Reads JSONL input as blocks of whole lines: the main thread finds
 * newlines (a memchr over the buffer) and decodes a block as one string; it
 * never parses a line, the workers do (line-block.ts). A block travels as a
 * string because posting a string costs a fraction of posting bytes. A block ends at the line count or
 * byte size asked for, whichever comes first, and always holds at least one
 * whole line. Pulling the next chunk only when a block needs it is the
 * backpressure: at most one chunk (64 KiB) plus one block is held here.
 */

const NL = 10;
const EMPTY = Buffer.alloc(0);

export interface RawBlock {
  /** Line number of the first line (1-based). */
  first: number;
  lines: number;
  /** The lines, each with its newline (the input's last line may have none). */
  text: string;
}

export class BlockReader {
  readonly #chunks: AsyncIterator<Buffer | string>;
  #buf: Buffer = EMPTY;
  /** Start of the bytes not yet handed out. */
  #start = 0;
  #eof = false;
  #nextLine = 1;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.#chunks = source[Symbol.asyncIterator]();
  }

  /** The next block of at most `maxLines` lines (and about `maxBytes`), or undefined at the end. */
  async next(maxLines: number, maxBytes: number): Promise<RawBlock | undefined> {
    let lines = 0;
    let scan = this.#start;
    let end = -1;
    for (;;) {
      while (lines < maxLines) {
        const nl = this.#buf.indexOf(NL, scan);
        if (nl === -1) break;
        lines++;
        scan = nl + 1;
        end = scan;
        if (end - this.#start >= maxBytes) break;
      }
      if (lines === maxLines || (lines > 0 && end - this.#start >= maxBytes)) return this.#cut(end, lines);
      if (this.#eof) {
        // The last line has no newline, or the input ended on one.
        if (this.#buf.length > scan) return this.#cut(this.#buf.length, lines + 1);
        return lines > 0 ? this.#cut(end, lines) : undefined;
      }
      // Not enough yet: keep the unread bytes and append the next chunk.
      const chunk = await this.#chunks.next();
      const scanned = scan - this.#start;
      const endAt = end === -1 ? -1 : end - this.#start;
      if (chunk.done === true) {
        this.#eof = true;
      } else {
        const bytes = typeof chunk.value === 'string' ? Buffer.from(chunk.value) : chunk.value;
        this.#buf = this.#start === this.#buf.length ? bytes : Buffer.concat([this.#buf.subarray(this.#start), bytes]);
        this.#start = 0;
      }
      scan = this.#start + scanned;
      end = endAt === -1 ? -1 : this.#start + endAt;
    }
  }

  #cut(end: number, lines: number): RawBlock {
    // A newline byte is never inside a UTF-8 sequence: a block cut at one decodes whole.
    const block: RawBlock = { first: this.#nextLine, lines, text: this.#buf.toString('utf8', this.#start, end) };
    this.#nextLine += lines;
    this.#start = end;
    return block;
  }
}
