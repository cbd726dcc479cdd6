/**
 * `sluice serve` as a drop-in consumer of an existing BullMQ queue: the
 * producer is plain `bullmq`; --timeout stops a synchronous loop that a
 * BullMQ processor could not stop, and the server goes on serving.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { Job, Queue, QueueEvents } from 'bullmq';
import { REDIS_URL, SKIP_NO_REDIS, connectionOf, testQueue } from '../helpers/redis.js';
import { outcome } from '../helpers/index.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TASKS = fileURLToPath(new URL('../fixtures/bullmq-tasks.js', import.meta.url));
const connection = connectionOf(REDIS_URL);

/**
 * `sluice serve` on a new queue, with a plain BullMQ producer and listener on
 * it. `ready` resolves with its stderr once it says it is serving.
 */
function serveCli(tag: string, flags: string[]) {
  const queue = testQueue(tag);
  const child = spawn(process.execPath, [CLI, 'serve', TASKS, '--queue', queue, '--redis', REDIS_URL, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = once(child, 'exit');
  const ready = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('sluice serve: ready')) resolve(err);
    });
    void exited.then(() => reject(new Error(`sluice serve exited before ready: ${err}`)));
  });
  const q = new Queue(queue, { connection });
  const events = new QueueEvents(queue, { connection });
  return {
    queue,
    q,
    events,
    ready: Promise.all([ready, events.waitUntilReady()]).then(([text]) => text),
    /** SIGTERM: the server drains and exits; resolves with its exit code. */
    stop: async (): Promise<number | null> => {
      child.kill('SIGTERM');
      return (await exited)[0] as number | null;
    },
    stderr: () => err,
    close: async (): Promise<void> => {
      child.kill('SIGKILL');
      await events.close();
      await q.close();
    },
  };
}

describe('sluice serve with plain BullMQ producers', { skip: SKIP_NO_REDIS }, () => {
  test('--timeout fails a job stuck in a synchronous loop (its thread replaced); the next jobs run', async () => {
    const s = serveCli('serve-timeout', ['--size', '1', '--timeout', '300']);
    try {
      await s.ready;
      const stuck = await s.q.add('spin', null);
      const r = await outcome(stuck.waitUntilFinished(s.events));
      assert.ok(!r.ok);
      assert.equal(r.error.message, 'task "spin" ran longer than 300 ms');
      assert.equal((await Job.fromId(s.q, stuck.id ?? ''))?.attemptsMade, 1, 'a timeout is not retried unless asked');
      const next = await s.q.add('digest', { text: 'one two three' });
      assert.deepEqual(await next.waitUntilFinished(s.events), { length: 13, words: 3 });
      assert.equal(await s.stop(), 0, s.stderr());
    } finally {
      await s.close();
    }
  });

  test('--metrics serves the pool\'s series under sluice/prometheus names and the jobs by outcome', async () => {
    const s = serveCli('serve-metrics', ['--size', '1', '--metrics', '127.0.0.1:0']);
    try {
      const at = /metrics on (http:\/\/\S+)/.exec(await s.ready)?.[1];
      assert.ok(at !== undefined, s.stderr());
      const done = await s.q.add('digest', { text: 'a b' });
      await done.waitUntilFinished(s.events);
      const failed = await s.q.add('no-such-task', null);
      assert.equal((await outcome(failed.waitUntilFinished(s.events))).ok, false);
      const text = await (await fetch(at)).text();
      assert.match(text, /^# TYPE sluice_workers gauge$/m);
      assert.match(text, /^sluice_workers\{pool="[^"]+",state="idle"\} 1$/m);
      assert.match(text, /^sluice_queue_depth\{pool="[^"]+"\} 0$/m);
      assert.match(text, new RegExp(`^sluice_serve_jobs_total\\{queue="${s.queue}",outcome="completed"\\} 1$`, 'm'));
      assert.match(text, new RegExp(`^sluice_serve_jobs_total\\{queue="${s.queue}",outcome="failed"\\} 1$`, 'm'));
      assert.match(text, new RegExp(`^sluice_serve_jobs_in_flight\\{queue="${s.queue}"\\} 0$`, 'm'));
      assert.equal(await s.stop(), 0, s.stderr());
    } finally {
      await s.close();
    }
  });
});
