/**
 * `sluice serve` as a drop-in consumer of an existing BullMQ queue: the
 * producer is plain `bullmq`; --timeout stops a synchronous loop that a
 * BullMQ processor could not stop, and the server goes on serving.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Job, Queue, QueueEvents } from 'bullmq';
import { REDIS_URL, SKIP_NO_REDIS, connectionOf, dropQueue, uniqueQueue } from '../helpers/redis.js';
import { outcome } from '../helpers/index.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TASKS = fileURLToPath(new URL('../fixtures/bullmq-tasks.js', import.meta.url));
const connection = connectionOf(REDIS_URL);
const queues: string[] = [];
after(async () => {
  if (SKIP_NO_REDIS === false) for (const q of queues) await dropQueue(q);
});

describe('sluice serve with plain BullMQ producers', { skip: SKIP_NO_REDIS }, () => {
  test('--timeout fails a job stuck in a synchronous loop (its thread replaced); the next jobs run', async () => {
    const queue = uniqueQueue('serve-timeout');
    queues.push(queue);
    const child = spawn(process.execPath, [CLI, 'serve', TASKS, '--queue', queue, '--redis', REDIS_URL, '--size', '1', '--timeout', '300'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const exited = once(child, 'exit');
    const ready = new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('sluice serve: ready')) resolve();
      });
      void exited.then(() => reject(new Error(`sluice serve exited before ready: ${err}`)));
    });
    const q = new Queue(queue, { connection });
    const events = new QueueEvents(queue, { connection });
    try {
      await Promise.all([ready, events.waitUntilReady()]);
      const stuck = await q.add('spin', null);
      const r = await outcome(stuck.waitUntilFinished(events));
      assert.ok(!r.ok);
      assert.equal(r.error.message, 'task "spin" ran longer than 300 ms');
      assert.equal((await Job.fromId(q, stuck.id ?? ''))?.attemptsMade, 1, 'a timeout is not retried unless asked');
      const next = await q.add('digest', { text: 'one two three' });
      assert.deepEqual(await next.waitUntilFinished(events), { length: 13, words: 3 });
      child.kill('SIGTERM');
      assert.equal((await exited)[0], 0, err);
    } finally {
      child.kill('SIGKILL');
      await events.close();
      await q.close();
    }
  });
});
