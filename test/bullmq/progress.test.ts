/**
 * Progress through sluice/bullmq on a real Redis: a task's ctx.progress()
 * is stored as job.updateProgress() by serve(), and read back by
 * createClient's onProgress and by a plain BullMQ QueueEvents listener.
 * Serving pools are kind 'async' so the task waits, by handshake, until each
 * value has been seen before it reports the next (the throttle would
 * otherwise be free to drop the ones in between).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { createClient, serve } from '../../src/bullmq/index.js';
import { InvalidOptionError, type TaskContext } from '../../src/index.js';
import { REDIS_URL, SKIP_NO_REDIS, connectionOf, testQueue } from '../helpers/redis.js';

const connection = connectionOf(REDIS_URL);

/** Resolves when `seen` holds `value`: the task's handshake with the test's listener. */
class Seen {
  readonly values: unknown[] = [];
  #waiters: Array<{ value: unknown; resolve: () => void }> = [];

  add(value: unknown): void {
    this.values.push(value);
    this.#waiters = this.#waiters.filter((w) => {
      if (!this.values.includes(w.value)) return true;
      w.resolve();
      return false;
    });
  }

  until(value: unknown): Promise<void> {
    if (this.values.includes(value)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ value, resolve }));
  }
}

describe('sluice/bullmq progress', { skip: SKIP_NO_REDIS }, () => {
  test("ctx.progress() reaches createClient's onProgress in order, the last value before the result, and a plain QueueEvents listener too", async () => {
    const queue = testQueue('progress');
    const seen = new Seen();
    const server = await serve({
      connection: REDIS_URL,
      queue,
      pool: {
        kind: 'async',
        size: 1,
        tasks: {
          steps: async (n: number, ctx: TaskContext) => {
            for (let i = 1; i <= n; i++) {
              ctx.progress({ done: i, of: n });
              // The next value only once this one has reached the client: none can be coalesced away.
              await seen.until(i);
            }
            return 'done';
          },
        },
      },
    });
    const plain = new QueueEvents(queue, { connection });
    await plain.waitUntilReady();
    const plainSeen: unknown[] = [];
    plain.on('progress', ({ data }) => plainSeen.push(data));
    const plainCompleted = once(plain, 'completed');
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      const got: unknown[] = [];
      const handle = await client.submit<string>('steps', 4, {
        onProgress: (value) => {
          got.push(value);
          seen.add((value as { done: number }).done);
        },
      });
      assert.equal(await handle.result(), 'done');
      assert.deepEqual(got, [1, 2, 3, 4].map((i) => ({ done: i, of: 4 })), 'every value, in order, all before the result');
      await plainCompleted;
      assert.deepEqual(plainSeen, got, "a plain BullMQ listener reads the same 'progress' events");
      const job = await client.queue.getJob(handle.id);
      assert.deepEqual(job?.progress, { done: 4, of: 4 }, 'the last value is stored on the job');
      assert.deepEqual(await handle.progress(), { done: 4, of: 4 }, "the handle reads the job's stored progress");
      assert.deepEqual(await client.handle(handle.id).progress(), { done: 4, of: 4 }, 'so does a handle made from the id alone');
      assert.equal(await client.handle('no-such-job').progress(), undefined, 'a job that is gone has none');
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
      await plain.close();
    }
  });

  test('a task reporting in a tight loop is throttled: fewer writes than reports, in order, ending with the last', async () => {
    const queue = testQueue('progress-flood');
    const N = 3000;
    const server = await serve({
      connection: REDIS_URL,
      queue,
      pool: {
        kind: 'async',
        size: 1,
        tasks: {
          flood: async (n: number, ctx: TaskContext) => {
            // A turn of the event loop between reports: each is its own flush, so only the Redis throttle stands between them and Redis.
            for (let i = 1; i <= n; i++) {
              ctx.progress(i);
              await new Promise((r) => setImmediate(r));
            }
            return n;
          },
        },
      },
    });
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      const got: number[] = [];
      assert.equal(await client.run('flood', N, { onProgress: (v) => got.push(v as number) }), N);
      assert.equal(got.at(-1), N, 'the last value reported is delivered, before the result');
      assert.ok(got.length < N, `throttled: ${got.length} writes for ${N} reports`);
      for (let i = 1; i < got.length; i++) assert.ok(got[i]! > got[i - 1]!, `in order: ${got[i - 1]} then ${got[i]}`);
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
    }
  });

  test("a plain BullMQ job's progress is written too, and a value Redis cannot store fails only its write (an 'error' on the server), never the job", async () => {
    const queue = testQueue('progress-plain');
    const server = await serve({
      connection: REDIS_URL,
      queue,
      pool: {
        kind: 'async',
        size: 1,
        tasks: {
          half: (x: { n: number }, ctx: TaskContext) => {
            ctx.progress(0.5);
            return x.n / 2;
          },
          bigint: (_: unknown, ctx: TaskContext) => {
            ctx.progress(10n);
            return 'still fine';
          },
        },
      },
    });
    const errors: Error[] = [];
    server.on('error', (err: Error) => errors.push(err));
    const q = new Queue(queue, { connection });
    const events = new QueueEvents(queue, { connection });
    await events.waitUntilReady();
    const progress: Array<[string, unknown]> = [];
    events.on('progress', ({ jobId, data }) => progress.push([jobId, data]));
    try {
      const job = await q.add('half', { n: 8 });
      assert.equal(await job.waitUntilFinished(events), 4);
      assert.deepEqual(progress, [[job.id, 0.5]], 'the progress event came before completion');
      const bad = await q.add('bigint', {});
      assert.equal(await bad.waitUntilFinished(events), 'still fine');
      assert.equal(errors.length, 1, 'the failed progress write is reported');
      assert.match(errors[0]!.message, new RegExp(`progress of job ${bad.id} \\(task "bigint"\\) was not stored`));
    } finally {
      await server.close({ timeoutMs: 5000 });
      await events.close();
      await q.close();
    }
  });

  test('onProgress must be a function', async () => {
    const client = createClient({ connection: REDIS_URL, queue: testQueue('progress-bad') });
    try {
      await assert.rejects(client.submit('x', 1, { onProgress: 42 as never }), (err: Error) => err instanceof InvalidOptionError && /onProgress/.test(err.message));
    } finally {
      await client.close();
    }
  });
});
