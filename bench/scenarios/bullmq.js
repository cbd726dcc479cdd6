// (10) Through Redis. Two questions, one table:
// - per-job overhead of `sluice serve` against a plain BullMQ Worker running
//   the same function (fib(20)), fed by the same plain BullMQ producer
//   (`queue.add('fib', 20)`, completions counted from QueueEvents): BullMQ's
//   sandboxed processor (worker threads) and an inline processor; the local
//   pool is the no-Redis reference (overhead per job = µs/job - local µs/job);
// - lines/s of a distributed `sluice run --redis` (coordinator + 1, 2 or 4
//   `sluice serve` processes, all on this machine).
// The ratio column is sluice serve x1 over each entry. Skips when Redis on
// 127.0.0.1:6379 does not answer.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now } from '../lib/measure.js';
import { Skip } from '../lib/pools.js';

const PORT = Number(process.env.SLUICE_BENCH_REDIS_PORT ?? 6379);
const REDIS = `redis://127.0.0.1:${PORT}`;
const FIB = 20;
const FIB_VALUE = 6765;
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

async function obliterate(queue) {
  const { Queue } = await import('bullmq');
  for (const name of [queue, `${queue}-dlq`]) {
    const q = new Queue(name, { connection: { host: '127.0.0.1', port: PORT } });
    await q.obliterate({ force: true });
    await q.close();
  }
}

const serveArgs = (queue) => [cli, 'serve', sluiceTasks, '--queue', queue, '--redis', REDIS, '--size', String(SIZE)];

/** The same plain producer for every consumer: adds `count` fib jobs and waits for their completions. */
async function plainBatches(queue, n) {
  const { Queue, QueueEvents } = await import('bullmq');
  const q = new Queue(queue, { connection: { host: '127.0.0.1', port: PORT } });
  const events = new QueueEvents(queue, { connection: { host: '127.0.0.1', port: PORT } });
  try {
    await events.waitUntilReady();
    const batch = async (count) => {
      let done = 0;
      let wrong = 0;
      const all = new Promise((resolve) => {
        const on = ({ returnvalue }) => {
          if (Number(returnvalue) !== FIB_VALUE) wrong++;
          if (++done === count) {
            events.off('completed', on);
            resolve();
          }
        };
        events.on('completed', on);
      });
      await q.addBulk(Array.from({ length: count }, () => ({ name: 'fib', data: FIB })));
      await all;
      if (wrong > 0) throw new Error(`${wrong} wrong fib(${FIB}) results`);
    };
    await batch(50);
    const t0 = now();
    await batch(n);
    return now() - t0;
  } finally {
    await events.close();
    await q.close();
  }
}

/** One `sluice run --redis` over `lines` lines with `servers` serve processes: wall time of the coordinator. */
async function distributedRun(queue, servers, lines) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-run-'));
  const children = [];
  try {
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, `${FIB}\n`.repeat(lines));
    for (let i = 0; i < servers; i++) children.push(spawnReady(serveArgs(queue), 'ready'));
    await Promise.all(children.map((c) => c.ready));
    const output = join(dir, 'out.jsonl');
    const t0 = now();
    const coord = spawn(process.execPath, [cli, 'run', sluiceTasks, '--task', 'fib', '--input', input, '--output', output, '--redis', REDIS, '--redis-queue', queue, '--progress', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    coord.stderr.on('data', (d) => (err += d));
    const [code] = await once(coord, 'exit');
    const ms = now() - t0;
    if (code !== 0) throw new Error(`sluice run exited ${code}: ${err}`);
    const out = readFileSync(output, 'utf8').trimEnd().split('\n');
    if (out.length !== lines || out.some((l) => JSON.parse(l).result !== FIB_VALUE)) throw new Error('wrong or missing lines');
    return ms;
  } finally {
    await stopAll(children);
    rmSync(dir, { recursive: true, force: true });
  }
}

const RUN_ENTRY = /^sluice run --redis, (\d) servers?$/;

export default {
  title: `through Redis: fib(${FIB}) jobs from one plain BullMQ producer, consumers of ${SIZE} workers each; distributed sluice run; local pool for reference`,
  sweep: false,
  entries: () => [
    'sluice serve x1',
    'sluice serve x2',
    'bullmq sandbox x1',
    'bullmq sandbox x2',
    'bullmq inline x1',
    'local pool (no Redis)',
    'sluice run --redis, 1 server',
    'sluice run --redis, 2 servers',
    'sluice run --redis, 4 servers',
  ],
  metrics: [
    { key: 'jobsPerSec', label: 'jobs/s', better: 'higher' },
    { key: 'usPerJob', label: 'µs/job', better: 'lower' },
  ],
  async measure(id, { quick }) {
    if (!(await redisUp())) throw new Skip('skipped (no Redis)');
    const n = quick ? 400 : 3000;
    const queue = `sluice-bench-${process.pid}-${Date.now()}`;
    const result = (ms, count) => ({ jobsPerSec: (count * 1000) / ms, usPerJob: (ms * 1000) / count });
    if (id === 'local pool (no Redis)') {
      const { createPool } = await import('../../dist/index.js');
      const pool = createPool({ module: new URL('../workers/sluice-tasks.js', import.meta.url), size: SIZE });
      await pool.start();
      await Promise.all(Array.from({ length: 50 }, () => pool.run('fib', FIB)));
      const t0 = now();
      await Promise.all(Array.from({ length: n }, () => pool.run('fib', FIB)));
      const ms = now() - t0;
      await pool.close();
      return result(ms, n);
    }
    const run = RUN_ENTRY.exec(id);
    if (run !== null) {
      try {
        return result(await distributedRun(queue, Number(run[1]), n), n);
      } finally {
        await obliterate(queue);
      }
    }
    const copies = id.endsWith('x2') ? 2 : 1;
    const children = [];
    try {
      for (let i = 0; i < copies; i++) {
        if (id.startsWith('sluice serve')) children.push(spawnReady(serveArgs(queue), 'ready'));
        else children.push(spawnReady([bullConsumer, queue, String(SIZE), String(PORT), id.startsWith('bullmq inline') ? 'inline' : 'sandbox'], 'ready'));
      }
      await Promise.all(children.map((c) => c.ready));
      return result(await plainBatches(queue, n), n);
    } finally {
      await stopAll(children);
      await obliterate(queue);
    }
  },
};
