/** Redis for the BullMQ tests: the shared server on 127.0.0.1:6379, or a private one a test may stop and restart. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { Queue } from 'bullmq';

export const REDIS_URL = process.env.SLUICE_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** Whether the shared Redis answers (the tests skip, saying so, when it does not). */
export function redisAvailable(url = REDIS_URL): boolean {
  const u = new URL(url);
  const r = spawnSync('redis-cli', ['-h', u.hostname, '-p', u.port || '6379', 'ping'], { encoding: 'utf8', timeout: 5000 });
  return r.stdout?.trim() === 'PONG';
}

export const SKIP_NO_REDIS = redisAvailable() ? false : `no Redis at ${REDIS_URL} (.ci/run starts one)`;

export function uniqueQueue(tag: string): string {
  return `sluice-test-${tag}-${randomBytes(4).toString('hex')}`;
}

/** Queues made by testQueue, dropped when the test file ends. */
const made: string[] = [];
after(async () => {
  if (SKIP_NO_REDIS === false) for (const q of made) await dropQueue(q);
});

/** A queue of this test file's own (uniqueQueue), dropped from Redis when the file's tests end. */
export function testQueue(tag: string): string {
  const q = uniqueQueue(tag);
  made.push(q);
  return q;
}

/** Deletes every key of `queue` and of its dead-letter queue. */
export async function dropQueue(queue: string, url = REDIS_URL): Promise<void> {
  for (const name of [queue, `${queue}-dlq`]) {
    const q = new Queue(name, { connection: connectionOf(url) });
    q.on('error', () => undefined);
    try {
      await q.obliterate({ force: true });
    } finally {
      await q.close();
    }
  }
}

export function connectionOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** A redis-server of this test's own, on a free port, that the test may stop and start again. */
export class OwnRedis {
  port = 0;
  #proc: ChildProcess | undefined;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`)));
    });
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = undefined;
    if (p === undefined || p.exitCode !== null) return;
    const exited = once(p, 'exit');
    p.kill('SIGKILL');
    await exited;
  }
}

/** Polls `check` every `everyMs` until it returns true; throws after `timeoutMs`. For external conditions only. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
