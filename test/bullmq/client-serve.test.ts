/**
 * sluice/bullmq against a real Redis (no mocks): round trips, priorities,
 * retries and dead letters, bad input, backpressure, shutdown, and Redis
 * going away. Serving pools are kind 'async' so tests hold tasks with
 * promises they control (handshakes, not sleeps).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { createClient, serve, RedisUnavailableError, type JobInfo, type Server } from '../../src/bullmq/index.js';
import { registerError, SerializationError, SluiceError, TaskTimeoutError, UnknownTaskError, ErrorCodes } from '../../src/index.js';
import { OwnRedis, REDIS_URL, SKIP_NO_REDIS, testQueue, uniqueQueue, until } from '../helpers/redis.js';
import { outcome } from '../helpers/index.js';

class NotFound extends Error {
  readonly code = 'E_NOT_FOUND';
  override get name(): string {
    return 'NotFound';
  }
}
registerError(NotFound);

/** A promise with its resolver outside: the tests' handshake. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}


describe('sluice/bullmq', { skip: SKIP_NO_REDIS }, () => {
  test('outputs and errors round-trip with their classes and codes; trace and correlation id reach the server', async () => {
    const queue = testQueue('roundtrip');
    const server = await serve({
      connection: REDIS_URL,
      queue,
      pool: {
        kind: 'async',
        size: 2,
        tasks: {
          add: (i: { a: number; b: number }) => ({ sum: i.a + i.b, list: [1, 'two', null], nothing: undefined }),
          missing: (id: string): never => {
            throw new NotFound(`no ${id}`);
          },
          sleepy: (_: unknown, ctx: { signal: AbortSignal }) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
          traceOf: (_: unknown, ctx: { traceContext?: { traceparent: string } }) => ctx.traceContext?.traceparent ?? null,
        },
      },
    });
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      const seen: JobInfo[] = [];
      server.on('active', (info: JobInfo) => seen.push(info));
      const h = await client.submit('add', { a: 2, b: 3 }, { correlationId: 'req-42', trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
      assert.equal(h.correlationId, 'req-42');
      assert.deepEqual(await h.result(), { sum: 5, list: [1, 'two', null] });
      assert.equal(seen[0]?.correlationId, 'req-42');
      assert.equal(seen[0]?.trace?.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
      const tp = '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01';
      assert.equal(await client.run('traceOf', null, { trace: { traceparent: tp } }), tp, "the job's trace context reaches the task as ctx.traceContext");

      const nf = await outcome(client.run('missing', 'x'));
      assert.ok(!nf.ok && nf.error instanceof NotFound, 'a registered class arrives as itself');
      assert.equal(nf.error.code, 'E_NOT_FOUND');
      assert.equal(nf.error.message, 'no x');

      const to = await outcome(client.run('sleepy', null, { timeoutMs: 30 }));
      assert.ok(!to.ok && to.error instanceof TaskTimeoutError, `got ${to.ok ? 'ok' : to.error.name}`);
      assert.ok(to.error instanceof SluiceError);
      assert.equal(to.error.code, ErrorCodes.TASK_TIMEOUT);

      // The same idempotency key gives the same job, which ran once.
      const a = await client.submit('add', { a: 1, b: 1 }, { idempotencyKey: 'order-7' });
      const b = await client.submit('add', { a: 9, b: 9 }, { idempotencyKey: 'order-7' });
      assert.equal(a.id, b.id);
      assert.deepEqual(await b.result(), { sum: 2, list: [1, 'two', null] });
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
    }
  });

  test('priorities order work: higher first, FIFO among equals, unprioritised jobs do not jump ahead', async () => {
    const queue = testQueue('prio');
    const client = createClient({ connection: REDIS_URL, queue });
    const order: string[] = [];
    const plan: Array<[string, number | undefined]> = [
      ['a0', undefined],
      ['b-5', -5],
      ['c10', 10],
      ['d0', 0],
      ['e100', 100],
      ['f10', 10],
      ['g-100', -100],
    ];
    const handles = [];
    // Everything is queued before any server runs, so the order is the queue's alone.
    for (const [tag, priority] of plan) handles.push(await client.submit('rec', tag, priority === undefined ? {} : { priority }));
    const server = await serve({ connection: REDIS_URL, queue, pool: { kind: 'async', size: 1, tasks: { rec: (t: string) => void order.push(t) } } });
    try {
      await Promise.all(handles.map((h) => h.result()));
      assert.deepEqual(order, ['e100', 'c10', 'f10', 'a0', 'd0', 'b-5', 'g-100']);
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
    }
  });

  test('retries with backoff, then the dead-letter queue and the failed set; redrive runs it again', async () => {
    const queue = testQueue('retry');
    let healthy = false;
    let calls = 0;
    const server = await serve({
      connection: REDIS_URL,
      queue,
      pool: {
        kind: 'async',
        size: 1,
        tasks: {
          flaky: (n: number) => {
            calls++;
            if (!healthy) throw new RangeError(`bad ${n} #${calls}`);
            return n * 10;
          },
        },
      },
    });
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      const failedEvents: boolean[] = [];
      server.on('failed', (_info: JobInfo, _err: Error, final: boolean) => failedEvents.push(final));
      const r = await outcome(client.run('flaky', 4, { attempts: 3, backoff: { type: 'fixed', baseMs: 5, jitter: 'none' } }));
      assert.ok(!r.ok && r.error instanceof RangeError);
      assert.equal(r.error.message, 'bad 4 #3');
      assert.equal((r.error as Error & { attempts?: number }).attempts, 3);
      assert.deepEqual(((r.error as Error & { previousErrors?: Error[] }).previousErrors ?? []).map((e) => e.message), ['bad 4 #1', 'bad 4 #2']);
      assert.deepEqual(failedEvents, [false, false, true]);
      assert.equal(await client.queue.getFailedCount(), 1, "BullMQ's failed set holds it");
      const dead = await client.deadLetters();
      assert.equal(dead.length, 1);
      assert.equal(dead[0]?.taskName, 'flaky');
      assert.equal(dead[0]?.attempts, 3);
      assert.equal(dead[0]?.error.name, 'RangeError');
      assert.deepEqual(dead[0]?.input, 4);

      healthy = true;
      const red = await client.redrive();
      assert.equal(red.redriven, 1);
      assert.equal(await red.handles[0]?.result(), 40);
      assert.equal((await client.deadLetters()).length, 0);
      assert.equal(await client.queue.getFailedCount(), 0);
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
    }
  });

  test('bad input: an unknown task fails with a clear error, never retried nor dead-lettered; unserialisable input is refused at submit', async () => {
    const queue = testQueue('bad');
    const server = await serve({ connection: REDIS_URL, queue, pool: { kind: 'async', size: 1, tasks: { known: () => 1 } } });
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      const r = await outcome(client.run('nosuch', 1, { attempts: 5 }));
      assert.ok(!r.ok && r.error instanceof UnknownTaskError, `got ${r.ok ? 'ok' : r.error.name}`);
      assert.match(r.error.message, /unknown task "nosuch"; the module exports: known/);
      const failed = await client.queue.getFailed();
      assert.equal(failed[0]?.attemptsMade, 1, 'not retried');
      assert.deepEqual(await client.deadLetters(), [], 'it never ran: not a dead letter');

      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const [input, why] of [
        [{ n: 1n }, /\$\.n is a BigInt/],
        [new Map([[1, 2]]), /\$ is a Map/],
        [{ f: () => 1 }, /\$\.f is a function/],
        [[1, Number.NaN], /\$\[1\] is NaN/],
        [cyclic, /\$\.self is a circular reference/],
      ] as const) {
        const s = await outcome(client.submit('known', input));
        assert.ok(!s.ok && s.error instanceof SerializationError, `refused: ${String(why)}`);
        assert.match((s.error.cause as Error).message, why);
      }
      assert.equal(await client.queue.count(), 0, 'nothing refused reached Redis');
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
    }
  });

  test("a slow consumer: the queue grows in Redis while the server's in-flight count stays at its pool size", async () => {
    const queue = testQueue('backpressure');
    const release = deferred();
    const started: string[] = [];
    const twoStarted = deferred();
    const server = await serve({
      connection: REDIS_URL,
      queue,
      pool: {
        kind: 'async',
        size: 2,
        tasks: {
          slow: async (i: number) => {
            started.push(String(i));
            if (started.length === 2) twoStarted.resolve();
            await release.promise;
            return i;
          },
        },
      },
    });
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      const handles = [];
      for (let i = 0; i < 30; i++) handles.push(await client.submit('slow', i));
      await twoStarted.promise;
      const counts = await client.queue.getJobCounts('active', 'wait', 'prioritized');
      assert.equal(counts.active, 2, 'only the pool size is taken from Redis');
      assert.equal((counts.wait ?? 0) + (counts.prioritized ?? 0), 28, 'the rest waits in Redis');
      assert.equal(server.stats().inFlight, 2);
      assert.equal(server.pool.stats().queued, 0, 'nothing queued locally');
      release.resolve();
      const out = await Promise.all(handles.map((h) => h.result()));
      assert.deepEqual(out, [...Array(30).keys()]);
      assert.equal(server.stats().maxInFlight, 2);
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
    }
  });

  test('close(): drains within the grace; past it, running jobs are aborted and go back to the queue', async () => {
    const queue = testQueue('close');
    const hold = deferred();
    const running = deferred();
    const tasks = {
      quick: (i: number) => i,
      stuck: async (_: unknown, ctx: { signal: AbortSignal }) => {
        running.resolve();
        await Promise.race([hold.promise, once(ctx.signal, 'abort')]);
        throw new Error('aborted by close');
      },
    };
    const a = await serve({ connection: REDIS_URL, queue, pool: { kind: 'async', size: 1, tasks } });
    const client = createClient({ connection: REDIS_URL, queue });
    let b: Server | undefined;
    try {
      assert.equal(await client.run('quick', 7), 7);
      const h = await client.submit('stuck', null);
      await running.promise;
      await a.close({ timeoutMs: 50 });
      const counts = await client.queue.getJobCounts('active', 'wait', 'prioritized', 'failed');
      assert.equal(counts.failed, 0, 'not counted as a failure');
      assert.equal((counts.wait ?? 0) + (counts.prioritized ?? 0), 1, 'back in the queue at once');
      // Another server finishes it.
      b = await serve({ connection: REDIS_URL, queue, pool: { kind: 'async', size: 1, tasks: { stuck: () => 'done elsewhere' } } });
      assert.equal(await h.result(), 'done elsewhere');
    } finally {
      hold.resolve();
      await b?.close({ timeoutMs: 5000 });
      await client.close();
    }
  });

  test('Redis going away: submits fail with RedisUnavailableError; when it returns, the server reconnects and carries on', async () => {
    const redis = new OwnRedis();
    await redis.start();
    const queue = uniqueQueue('restart');
    const server = await serve({ connection: redis.url, queue, pool: { kind: 'async', size: 1, tasks: { inc: (n: number) => n + 1 } } });
    server.on('error', () => undefined); // connection errors while Redis is down
    const client = createClient({ connection: redis.url, queue });
    try {
      assert.equal(await client.run('inc', 1), 2);
      await redis.stop();
      const down = await outcome(client.submit('inc', 2));
      assert.ok(!down.ok && down.error instanceof RedisUnavailableError, `got ${down.ok ? 'ok' : down.error.name + ': ' + down.error.message}`);
      assert.equal(down.error.code, 'ERR_SLUICE_REDIS_UNAVAILABLE');
      assert.match(down.error.message, /Redis is unavailable/);
      await redis.start();
      // The client's connection comes back by itself: try until a submit is accepted (bounded).
      let result: number | undefined;
      await until('a submit accepted after the restart', async () => {
        const r = await outcome(client.submit('inc', 41));
        if (!r.ok) return false;
        result = await r.value.result() as number;
        return true;
      }, 30_000, 100);
      assert.equal(result, 42);
    } finally {
      await server.close({ timeoutMs: 2000 });
      await client.close();
      await redis.stop();
    }
  });
});

test('the core stays free of bullmq: only src/bullmq imports it', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const root = new URL('../../../src/', import.meta.url);
  const offenders: string[] = [];
  const walk = (dir: URL, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (rel === '' && e.name === 'bullmq') continue;
        walk(new URL(`${e.name}/`, dir), `${rel}${e.name}/`);
      } else if (e.name.endsWith('.ts') && /from ['"](bullmq|ioredis)['"]|import\(['"](bullmq|ioredis)['"]\)/.test(readFileSync(new URL(e.name, dir), 'utf8'))) {
        offenders.push(`${rel}${e.name}`);
      }
    }
  };
  walk(root, '');
  assert.deepEqual(offenders, []);
});
