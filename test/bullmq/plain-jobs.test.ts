/**
 * Plain BullMQ jobs served by sluice: the producers here are written against
 * `bullmq` alone (`new Queue(name).add(...)`, `QueueEvents`,
 * `job.waitUntilFinished`), as an existing BullMQ user's are. The job's
 * name is the task, its data the input, the task's output its returnvalue.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { createClient, serve, type JobInfo } from '../../src/bullmq/index.js';
import { REDIS_URL, SKIP_NO_REDIS, connectionOf, testQueue } from '../helpers/redis.js';
import { outcome } from '../helpers/index.js';

const connection = connectionOf(REDIS_URL);

/** A BullMQ producer and its events, as a BullMQ user writes them. */
async function producer(queue: string): Promise<{ q: Queue; events: QueueEvents; close(): Promise<void> }> {
  const q = new Queue(queue, { connection });
  const events = new QueueEvents(queue, { connection });
  await events.waitUntilReady();
  // Each waitUntilFinished listens for the queue's 'closing': more than ten at once is expected here.
  q.setMaxListeners(100);
  return { q, events, close: async () => void (await Promise.all([events.close(), q.close()])) };
}

describe('plain BullMQ jobs', { skip: SKIP_NO_REDIS }, () => {
  test('job.name is the task, job.data the input, the output is the returnvalue as it stands', async () => {
    const queue = testQueue('plain-out');
    const server = await serve({
      connection: REDIS_URL,
      queue,
      pool: { kind: 'async', size: 2, tasks: { digest: (d: { text: string }) => ({ length: d.text.length, upper: d.text.toUpperCase() }), count: (n: number) => n + 1, nothing: () => undefined } },
    });
    const p = await producer(queue);
    try {
      const j1 = await p.q.add('digest', { text: 'hello' });
      const j2 = await p.q.add('count', 41);
      const j3 = await p.q.add('nothing', {});
      assert.deepEqual(await j1.waitUntilFinished(p.events), { length: 5, upper: 'HELLO' });
      assert.equal(await j2.waitUntilFinished(p.events), 42);
      assert.equal(await j3.waitUntilFinished(p.events), null, 'undefined is stored by BullMQ as null');
      const stored = await Job.fromId(p.q, j1.id ?? '');
      assert.deepEqual(stored?.returnvalue, { length: 5, upper: 'HELLO' }, 'no { out } wrapper');
      assert.deepEqual(stored?.data, { text: 'hello' }, 'the data is left as it was');
    } finally {
      await server.close({ timeoutMs: 5000 });
      await p.close();
    }
  });

  test("a throw fails the job with the error's message; attempts and backoff are BullMQ's job options; the final failure is dead-lettered and redriven as a plain job", async () => {
    const queue = testQueue('plain-fail');
    let calls = 0;
    let healthy = false;
    const server = await serve({
      connection: REDIS_URL,
      queue,
      pool: {
        kind: 'async',
        size: 1,
        tasks: {
          flaky: (d: { n: number }) => {
            calls++;
            if (!healthy) throw new RangeError(`bad ${d.n} #${calls}`);
            return d.n * 10;
          },
        },
      },
    });
    const p = await producer(queue);
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      const finals: boolean[] = [];
      server.on('failed', (info: JobInfo, _e: Error, final: boolean) => {
        assert.equal(info.plain, true);
        finals.push(final);
      });
      const job = await p.q.add('flaky', { n: 4 }, { attempts: 3, backoff: { type: 'fixed', delay: 5 } });
      const r = await outcome(job.waitUntilFinished(p.events));
      assert.ok(!r.ok);
      assert.equal(r.error.message, 'bad 4 #3', 'waitUntilFinished rejects with the failedReason');
      const stored = await Job.fromId(p.q, job.id ?? '');
      assert.equal(stored?.failedReason, 'bad 4 #3', "failedReason is the error's message");
      assert.equal(stored?.attemptsMade, 3);
      assert.deepEqual(stored?.data, { n: 4 }, 'no error history written into the data');
      assert.deepEqual(finals, [false, false, true]);

      const dead = await client.deadLetters();
      assert.equal(dead.length, 1);
      assert.equal(dead[0]?.plain, true);
      assert.deepEqual(dead[0]?.input, { n: 4 });
      assert.deepEqual(dead[0]?.backoff, { type: 'fixed', delay: 5 });

      healthy = true;
      const red = await client.redrive();
      assert.equal(red.redriven, 1);
      const again = await Job.fromId(p.q, red.entries[0]?.jobId ?? '');
      assert.ok(again !== undefined);
      assert.deepEqual(again.data, { n: 4 }, 'redriven as a plain job');
      assert.equal(again.opts.attempts, 3);
      assert.equal(await again.waitUntilFinished(p.events), 40);
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
      await p.close();
    }
  });

  test('a job whose name is no task fails at once, naming the exported tasks, and is not dead-lettered', async () => {
    const queue = testQueue('plain-unknown');
    const server = await serve({ connection: REDIS_URL, queue, pool: { kind: 'async', size: 1, tasks: { resize: () => 1, crop: () => 2 } } });
    const p = await producer(queue);
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      const job = await p.q.add('thumbnail', { id: 7 }, { attempts: 5 });
      const r = await outcome(job.waitUntilFinished(p.events));
      assert.ok(!r.ok);
      assert.equal(r.error.message, 'unknown task "thumbnail"; the module exports: crop, resize');
      const stored = await Job.fromId(p.q, job.id ?? '');
      assert.equal(stored?.attemptsMade, 1, 'not retried, whatever attempts says');
      assert.deepEqual(await client.deadLetters(), [], 'not in the dead-letter queue');
      assert.equal(server.stats().deadLettered, 0);
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
      await p.close();
    }
  });

  test('plain and createClient jobs share a queue: each keeps its own shape', async () => {
    const queue = testQueue('plain-mixed');
    const server = await serve({ connection: REDIS_URL, queue, pool: { kind: 'async', size: 2, tasks: { double: (n: number) => n * 2 } } });
    const p = await producer(queue);
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      const plain = await p.q.add('double', 5);
      const h = await client.submit<number>('double', 6);
      assert.equal(await plain.waitUntilFinished(p.events), 10);
      assert.equal(await h.result(), 12);
      const enveloped = await Job.fromId(p.q, h.id);
      assert.deepEqual(enveloped?.returnvalue, { out: 12 }, 'a createClient job keeps its envelope');
    } finally {
      await server.close({ timeoutMs: 5000 });
      await client.close();
      await p.close();
    }
  });

  test('thread pools run plain jobs too (the module loaded in worker threads)', async () => {
    const queue = testQueue('plain-thread');
    const server = await serve({ connection: REDIS_URL, queue, pool: { kind: 'thread', size: 2, module: new URL('../fixtures/tasks.js', import.meta.url) } });
    const p = await producer(queue);
    try {
      const jobs = await p.q.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'inc', data: i })));
      const out = await Promise.all(jobs.map((j) => j.waitUntilFinished(p.events)));
      assert.deepEqual(out, Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await server.close({ timeoutMs: 5000 });
      await p.close();
    }
  });

  test("lock and stalled settings are BullMQ's own defaults unless set", async () => {
    const queue = testQueue('plain-defaults');
    const server = await serve({ connection: REDIS_URL, queue, pool: { kind: 'async', size: 1, tasks: { x: () => 1 } } });
    const plain = new Worker(queue, undefined, { connection, autorun: false });
    const tuned = await serve({ connection: REDIS_URL, queue, lockDurationMs: 1234, stalledIntervalMs: 567, maxStalledCount: 3, pool: { kind: 'async', size: 1, tasks: { x: () => 1 } } });
    try {
      for (const key of ['lockDuration', 'lockRenewTime', 'stalledInterval', 'maxStalledCount', 'skipStalledCheck', 'skipLockRenewal'] as const) {
        assert.equal(server.worker.opts[key], plain.opts[key], `${key}: sluice ${String(server.worker.opts[key])}, BullMQ ${String(plain.opts[key])}`);
      }
      assert.equal(tuned.worker.opts.lockDuration, 1234);
      assert.equal(tuned.worker.opts.stalledInterval, 567);
      assert.equal(tuned.worker.opts.maxStalledCount, 3);
    } finally {
      await Promise.all([server.close({ timeoutMs: 5000 }), tuned.close({ timeoutMs: 5000 }), plain.close()]);
    }
  });
});
