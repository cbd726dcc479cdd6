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

  test('--metrics serves the pool\'s series under sluice/prometheus names and the jobs by outcome', async () => {
    const queue = uniqueQueue('serve-metrics');
    queues.push(queue);
    const child = spawn(process.execPath, [CLI, 'serve', TASKS, '--queue', queue, '--redis', REDIS_URL, '--size', '1', '--metrics', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const exited = once(child, 'exit');
    const url = new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /metrics on (http:\/\/\S+)/.exec(err);
        if (m !== null && err.includes('sluice serve: ready')) resolve(m[1] as string);
      });
      void exited.then(() => reject(new Error(`sluice serve exited before ready: ${err}`)));
    });
    const q = new Queue(queue, { connection });
    const events = new QueueEvents(queue, { connection });
    try {
      const [at] = await Promise.all([url, events.waitUntilReady()]);
      const done = await q.add('digest', { text: 'a b' });
      await done.waitUntilFinished(events);
      const failed = await q.add('no-such-task', null);
      assert.equal((await outcome(failed.waitUntilFinished(events))).ok, false);
      const text = await (await fetch(at)).text();
      assert.match(text, /^# TYPE sluice_workers gauge$/m);
      assert.match(text, /^sluice_workers\{pool="[^"]+",state="idle"\} 1$/m);
      assert.match(text, /^sluice_queue_depth\{pool="[^"]+"\} 0$/m);
      assert.match(text, new RegExp(`^sluice_serve_jobs_total\\{queue="${queue}",outcome="completed"\\} 1$`, 'm'));
      assert.match(text, new RegExp(`^sluice_serve_jobs_total\\{queue="${queue}",outcome="failed"\\} 1$`, 'm'));
      assert.match(text, new RegExp(`^sluice_serve_jobs_in_flight\\{queue="${queue}"\\} 0$`, 'm'));
      child.kill('SIGTERM');
      assert.equal((await exited)[0], 0, err);
    } finally {
      child.kill('SIGKILL');
      await events.close();
      await q.close();
    }
  });
});
