// (10) Through Redis: jobs/s with one and two `sluice serve` processes against
// BullMQ's own sandboxed processors on the same task (fib(20)), and the local
// pool as the no-Redis reference (overhead per job = µs/job - local µs/job).
// Skips when Redis on 127.0.0.1:6379 does not answer.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { now } from '../lib/measure.js';
import { Skip } from '../lib/pools.js';

const PORT = Number(process.env.SLUICE_BENCH_REDIS_PORT ?? 6379);
const FIB = 20;
const SIZE = 2;
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const sluiceTasks = fileURLToPath(new URL('../workers/sluice-tasks.js', import.meta.url));
const bullConsumer = fileURLToPath(new URL('../workers/bullmq-consumer.js', import.meta.url));

function redisUp() {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port: PORT });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.end();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

function spawnReady(args, marker) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const ready = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes(marker)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`consumer exited (${code}): ${err}`)));
  });
  return { child, ready };
}

async function stopAll(children) {
  await Promise.all(
    children.map(async ({ child }) => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }),
  );
}

export default {
  title: `through Redis: fib(${FIB}) jobs, consumers of ${SIZE} workers each; local pool for reference`,
  sweep: false,
  entries: () => ['sluice local pool', 'sluice serve x1', 'sluice serve x2', 'bullmq sandbox x1', 'bullmq sandbox x2'],
  metrics: [
    { key: 'jobsPerSec', label: 'jobs/s', better: 'higher' },
    { key: 'usPerJob', label: 'µs/job', better: 'lower' },
  ],
  async measure(id, { quick }) {
    if (!(await redisUp())) throw new Skip('skipped (no Redis)');
    const n = quick ? 400 : 3000;
    const queue = `sluice-bench-${process.pid}-${Date.now()}`;
    if (id === 'sluice local pool') {
      const { createPool } = await import('../../dist/index.js');
      const pool = createPool({ module: new URL('../workers/sluice-tasks.js', import.meta.url), size: SIZE });
      await pool.start();
      await Promise.all(Array.from({ length: 50 }, () => pool.run('fib', FIB)));
      const t0 = now();
      await Promise.all(Array.from({ length: n }, () => pool.run('fib', FIB)));
      const ms = now() - t0;
      await pool.close();
      return { jobsPerSec: (n * 1000) / ms, usPerJob: (ms * 1000) / n };
    }
    const copies = id.endsWith('x2') ? 2 : 1;
    const children = [];
    const { Queue, QueueEvents } = await import('bullmq');
    try {
      for (let i = 0; i < copies; i++) {
        children.push(
          id.startsWith('sluice')
            ? spawnReady([cli, 'serve', sluiceTasks, '--queue', queue, '--redis', `redis://127.0.0.1:${PORT}`, '--size', String(SIZE)], 'ready')
            : spawnReady([bullConsumer, queue, String(SIZE), String(PORT)], 'ready'),
        );
      }
      await Promise.all(children.map((c) => c.ready));
      if (id.startsWith('sluice')) {
        const { createClient } = await import('../../dist/bullmq/index.js');
        const client = createClient({ connection: { host: '127.0.0.1', port: PORT }, queue });
        try {
          await Promise.all(Array.from({ length: 50 }, () => client.run('fib', FIB)));
          const t0 = now();
          const handles = await Promise.all(Array.from({ length: n }, () => client.submit('fib', FIB)));
          const out = await Promise.all(handles.map((h) => h.result()));
          const ms = now() - t0;
          if (out.some((v) => v !== 6765)) throw new Error('wrong fib(20)');
          await client.queue.obliterate({ force: true });
          const dlq = new Queue(`${queue}-dlq`, { connection: { host: '127.0.0.1', port: PORT } });
          await dlq.obliterate({ force: true });
          await dlq.close();
          return { jobsPerSec: (n * 1000) / ms, usPerJob: (ms * 1000) / n };
        } finally {
          await client.close();
        }
      }
      const q = new Queue(queue, { connection: { host: '127.0.0.1', port: PORT } });
      const events = new QueueEvents(queue, { connection: { host: '127.0.0.1', port: PORT } });
      try {
        await events.waitUntilReady();
        const batch = async (count) => {
          let done = 0;
          const all = new Promise((resolve) => {
            const on = () => {
              if (++done === count) {
                events.off('completed', on);
                resolve();
              }
            };
            events.on('completed', on);
          });
          await Promise.all(Array.from({ length: count }, () => q.add('fib', { n: FIB })));
          await all;
        };
        await batch(50);
        const t0 = now();
        await batch(n);
        const ms = now() - t0;
        await q.obliterate({ force: true });
        return { jobsPerSec: (n * 1000) / ms, usPerJob: (ms * 1000) / n };
      } finally {
        await events.close();
        await q.close();
      }
    } finally {
      await stopAll(children);
    }
  },
};
