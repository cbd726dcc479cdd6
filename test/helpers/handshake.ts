/**
 * "The task is running now", for every kind: tasks connect to this Unix
 * socket and say "started"; the test waits for that, then says "go".
 * Works across threads, processes and in-process alike (no shared memory).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let counter = 0;

export class Handshake {
  readonly socket: string;
  readonly #server: Server;
  readonly #peers: Socket[] = [];
  #started = 0;
  #waiters: { n: number; resolve: () => void }[] = [];

  private constructor(path: string, server: Server) {
    this.socket = path;
    this.#server = server;
    server.on('connection', (s) => {
      this.#peers.push(s);
      s.on('error', () => undefined);
      s.on('data', (d) => {
        this.#started += String(d).split('started').length - 1;
        this.#waiters = this.#waiters.filter((w) => {
          if (this.#started < w.n) return true;
          w.resolve();
          return false;
        });
      });
    });
  }

  static open(): Promise<Handshake> {
    const path = join(tmpdir(), `sluice-hs-${process.pid}-${++counter}.sock`);
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve(new Handshake(path, server)));
    });
  }

  /** Resolves once `n` tasks in all have said they started. */
  started(n = 1): Promise<void> {
    if (this.#started >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** Lets every task connected so far finish. */
  release(): void {
    for (const p of this.#peers) if (!p.destroyed) p.write('go\n');
  }

  close(): Promise<void> {
    for (const p of this.#peers) p.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
