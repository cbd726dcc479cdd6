/**
 * `serveDashboard(pool, options)`: the HTTP side of the live dashboard, on
 * node:http alone.
 *
 * - Every request needs the token (`?token=`), compared in constant time;
 *   without it: 401. It binds 127.0.0.1 unless told otherwise.
 * - `GET /` is the page (page.ts), `GET /events` the Server-Sent Events
 *   stream (sse.ts), `GET /frame.json` the latest frame, for scripts.
 * - One timer ticks the feed (feed.ts) every `intervalMs`, builds the frame
 *   once, serializes it once (only when someone watches) and hands it to the
 *   streams, which never wait for a browser.
 * - Nothing of it keeps the process alive: the listening socket, each
 *   connection and the timer are unref'd, so a finished job exits even with
 *   a browser open.
 */

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from '../../pool.js';
import type { TaskModule } from '../../api/types.js';
import { DashboardFeed, type DeadLetterNote } from './feed.js';
import type { Frame } from './frame.js';
import { isLoopback, resolveDashboardOptions, type DashboardOptions } from './options.js';
import { renderPage } from './page.js';
import { SseHub, sseMessage, type SseCounters } from './sse.js';

/** A stream holding more than this is skipped until it drains (sse.ts). */
const MAX_BUFFERED = 256 * 1024;
/** Completions a tick listens to for its percentiles (interval-latency.ts). */
const LATENCY_CAP = 2048;
/** Alarms, events and dead letters kept for the page. */
const LIST_SIZE = 12;

export interface Dashboard {
  /** The address to open, token included: `http://host:port/?token=...`. */
  readonly url: string;
  readonly host: string;
  /** The port bound (useful with port 0). */
  readonly port: number;
  readonly token: string;
  /** True when bound to something other than loopback: the token is then the only guard. */
  readonly exposed: boolean;
  /** Records a dead letter the pool does not keep itself (a line of `sluice run`, a BullMQ job). */
  noteDeadLetter(note: DeadLetterNote): void;
  /** The latest frame. */
  frame(): Frame;
  /** Event streams open, frames skipped for full streams, histories re-sent. */
  streams(): SseCounters;
  /** Stops ticking and closes every connection. Idempotent. */
  close(): Promise<void>;
}

export type { DeadLetterNote };

/**
 * Serves a live page for `pool` and resolves once it listens. Rejects with
 * InvalidOptionError for bad options, and with the listen error (its `code`
 * kept: `EADDRINUSE`, `EACCES`, ...) when the address cannot be bound.
 */
export async function serveDashboard(pool: Pool<TaskModule>, options?: DashboardOptions): Promise<Dashboard> {
  const o = resolveDashboardOptions(options);
  const token = o.token ?? randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token);
  const feed = new DashboardFeed(pool, { intervalMs: o.intervalMs, historySize: o.historySize, listSize: LIST_SIZE, latencyCap: LATENCY_CAP, showData: o.showData, job: o.job, now: Date.now });
  const hub = new SseHub(o.maxClients, MAX_BUFFERED);
  let last = feed.tick();

  const history = (): string => sseMessage('history', JSON.stringify({ historySize: o.historySize, points: feed.history(), frame: last }));
  const authorized = (url: URL): boolean => {
    const given = Buffer.from(url.searchParams.get('token') ?? '');
    return given.length === tokenBytes.length && timingSafeEqual(given, tokenBytes);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (!authorized(url)) return send(res, 401, 'text/plain', '401: this dashboard needs the token of the URL it printed at start (?token=...)\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', '405: GET only\n');
    switch (url.pathname) {
      case '/':
      case '/index.html': {
        const nonce = randomBytes(16).toString('base64');
        res.setHeader('content-security-policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`);
        return send(res, 200, 'text/html', renderPage(nonce, o.title));
      }
      case '/events':
        if (!hub.add(res, history())) send(res, 503, 'text/plain', `503: ${o.maxClients} browsers are watching already\n`);
        return;
      case '/frame.json':
        return send(res, 200, 'application/json', JSON.stringify(last));
      default:
        return send(res, 404, 'text/plain', '404: try / or /events\n');
    }
  });
  server.on('connection', (socket) => socket.unref());

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    feed.close();
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'the address is in use' : e.message;
    throw Object.assign(new Error(`cannot serve the dashboard on ${o.host}:${o.port}: ${why} (${e.code ?? 'error'})`, { cause: err }), { code: e.code });
  }
  server.unref();

  const timer = setInterval(() => {
    last = feed.tick();
    if (hub.size > 0) hub.broadcast(sseMessage('frame', JSON.stringify(last)), history);
  }, o.intervalMs);
  timer.unref();

  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${bound.port}/?token=${token}`,
    host: bound.address,
    port: bound.port,
    token,
    exposed: !isLoopback(bound.address),
    noteDeadLetter: (note) => feed.noteDeadLetter(note),
    frame: () => last,
    streams: () => hub.counters(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        feed.close();
        hub.close();
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(body);
}
