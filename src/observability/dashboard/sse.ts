/**
 * The browsers watching: Server-Sent Events streams, each written without
 * ever waiting for it.
 *
 * A slow or stuck browser must neither slow the pool nor grow the process:
 * before each frame the stream's buffered bytes (Node's buffer and the
 * socket's) are checked, and a stream holding more than `maxBuffered` gets
 * no frame this tick and is marked stale. When it has drained, it gets the
 * whole history again in one `history` event instead of the frames it
 * missed, so its charts have no hole. One stream therefore holds at most
 * `maxBuffered` plus one message, whatever the browser does; a closed one is
 * dropped at its `close` event.
 *
 * Rejected: awaiting `drain` per stream (one stuck stream would hold the
 * tick for everyone); a queue of missed frames per stream (memory that grows
 * with the browser's delay).
 */

import type { ServerResponse } from 'node:http';

interface Client {
  res: ServerResponse;
  stale: boolean;
}

export interface SseCounters {
  /** Streams open now. */
  clients: number;
  /** Frames not written because a stream was full. */
  skipped: number;
  /** Whole histories sent to streams that had fallen behind. */
  resyncs: number;
}

export class SseHub {
  readonly #maxClients: number;
  readonly #maxBuffered: number;
  readonly #clients = new Set<Client>();
  #skipped = 0;
  #resyncs = 0;

  constructor(maxClients: number, maxBuffered: number) {
    this.#maxClients = maxClients;
    this.#maxBuffered = maxBuffered;
  }

  get size(): number {
    return this.#clients.size;
  }

  counters(): SseCounters {
    return { clients: this.#clients.size, skipped: this.#skipped, resyncs: this.#resyncs };
  }

  /** Opens an event stream on `res` and writes `first` (the history); false when `maxClients` streams are open already. */
  add(res: ServerResponse, first: string): boolean {
    if (this.#clients.size >= this.#maxClients) return false;
    const client: Client = { res, stale: false };
    this.#clients.add(client);
    res.on('close', () => this.#clients.delete(client));
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write(`retry: 2000\n\n${first}`);
    return true;
  }

  /** Writes `message` to every stream with room; `resync` (built at most once) to those that fell behind and have drained. */
  broadcast(message: string, resync: () => string): void {
    let full: string | undefined;
    for (const c of this.#clients) {
      if (c.res.destroyed) continue;
      if (c.res.writableLength > this.#maxBuffered) {
        c.stale = true;
        this.#skipped++;
        continue;
      }
      if (c.stale) {
        full ??= resync();
        c.res.write(full);
        c.stale = false;
        this.#resyncs++;
      } else {
        c.res.write(message);
      }
    }
  }

  /** Ends every stream. */
  close(): void {
    for (const c of this.#clients) c.res.destroy();
    this.#clients.clear();
  }
}

/** One SSE message: `event: <name>` and the data on one line (JSON has no raw newlines). */
export function sseMessage(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
