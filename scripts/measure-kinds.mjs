#!/usr/bin/env node
// Quick figures for docs/kinds.md: start-up, per-task overhead, payload cost,
// memory per queued task for each pool kind, and JSON vs 'advanced' IPC
// serialisation. Short on purpose (a shared 2-core machine); numbers are
// indicative, not a benchmark suite.
//
//   npm run pretest && node --expose-gc scripts/measure-kinds.mjs [--pqueue <dir with node_modules/p-queue>]
//
// Every figure is the median of a few runs.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const ROOT = new URL('../', import.meta.url);
const { createPool } = await import(new URL('dist/index.js', ROOT).href);
const FIXTURE = new URL('.test-build/test/fixtures/kinds.js', ROOT);
const tasks = await import(FIXTURE.href);

// The IPC child for the serialisation comparison: echo every message.
if (process.argv[2] === '--echo-child') {
  process.on('message', (m) => process.send(m));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function makePool(kind, size, extra = {}) {
  return kind === 'async' ? createPool({ kind, tasks, size, ...extra }) : createPool({ kind, module: FIXTURE, size, ...extra });
}

/** N tasks with `inFlight` outstanding at a time; returns tasks/s. */
async function throughput(pool, name, input, n, inFlight) {
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const go = () => {
      if (next >= n) return;
      next++;
      pool.run(name, input).then(() => {
        if (++done === n) resolve();
        else go();
      }, reject);
    };
    for (let i = 0; i < inFlight; i++) go();
  });
  return n / ((performance.now() - t0) / 1000);
}

async function startup(kind) {
  const xs = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const pool = makePool(kind, 1);
    await pool.run('inc', 1);
    xs.push(performance.now() - t0);
    await pool.close();
  }
  return median(xs);
}

async function perTask(kind) {
  const pool = makePool(kind, kind === 'async' ? 100 : 2, { queue: { capacity: Infinity } });
  await pool.run('inc', 1);
  const n = kind === 'process' ? 100_000 : 200_000;
  const xs = [];
  for (let i = 0; i < 3; i++) xs.push(await throughput(pool, 'inc', 1, n, 1024));
  // One at a time: the round trip of a lone task.
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) await pool.run('inc', i);
  const latencyUs = ((performance.now() - t0) / 2000) * 1000;
  await pool.close();
  return { tps: median(xs), latencyUs };
}

async function payload(kind, bytes) {
  const pool = makePool(kind, 2);
  const buf = new Uint8Array(bytes).fill(7);
  await pool.run('echo', buf);
  const xs = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) await pool.run('echo', buf);
    xs.push(((performance.now() - t0) / 20) * 1000);
  }
  await pool.close();
  return median(xs);
}

function rss() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().rss;
}

/** Bytes of RSS per task waiting in the queue of an async pool (size 1, its one slot blocked). */
async function queuedBytes(n) {
  let release;
  const gate = new Promise((r) => (release = r));
  const pool = createPool({ kind: 'async', tasks: { wait: () => gate, inc: (x) => x + 1 }, size: 1, queue: { capacity: Infinity } });
  const first = pool.run('wait', 0);
  await new Promise((r) => setImmediate(r));
  const before = rss();
  const ps = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = pool.run('inc', i);
  const after = rss();
  release();
  await first;
  await Promise.all(ps);
  await pool.close();
  return (after - before) / n;
}

async function pqueue(dir) {
  const require = createRequire(pathToFileURL(`${dir}/`));
  const { default: PQueue } = await import(pathToFileURL(require.resolve('p-queue')).href);
  const inc = async (x) => x + 1;
  const xs = [];
  for (let r = 0; r < 3; r++) {
    const q = new PQueue({ concurrency: 100 });
    const n = 200_000;
    let next = 0;
    let done = 0;
    const t0 = performance.now();
    await new Promise((resolve) => {
      const go = () => {
        if (next >= n) return;
        next++;
        void q.add(() => inc(next)).then(() => {
          if (++done === n) resolve();
          else go();
        });
      };
      for (let i = 0; i < 1024; i++) go();
    });
    xs.push(n / ((performance.now() - t0) / 1000));
  }
  let release;
  const gate = new Promise((r) => (release = r));
  const q = new PQueue({ concurrency: 1 });
  const first = q.add(() => gate);
  const n = 200_000;
  const before = rss();
  const ps = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = q.add(() => inc(i));
  const after = rss();
  release();
  await first;
  await Promise.all(ps);
  return { tps: median(xs), bytes: (after - before) / n };
}

/** Round trips per second through a bare forked child, for one serialisation. */
async function ipc(serialization, message, n) {
  const child = fork(new URL(import.meta.url).pathname, ['--echo-child'], { serialization, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((r) => child.once('spawn', r));
  const xs = [];
  for (let r = 0; r < 3; r++) {
    let got = 0;
    const t0 = performance.now();
    await new Promise((resolve) => {
      const onMsg = () => {
        if (++got === n) {
          child.off('message', onMsg);
          resolve();
        } else if (got % 64 === 0) for (let i = 0; i < 64 && got + 64 <= n; i++) child.send(message);
      };
      child.on('message', onMsg);
      for (let i = 0; i < Math.min(n, 128); i++) child.send(message);
    });
    xs.push(got / ((performance.now() - t0) / 1000));
  }
  child.kill();
  return median(xs);
}

async function main() {
  const pqDir = process.argv.includes('--pqueue') ? process.argv[process.argv.indexOf('--pqueue') + 1] : undefined;
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  console.log(`node ${process.version}, ${(await import('node:os')).availableParallelism()} CPUs`);

  console.log('\n# start-up: createPool() to first result, size 1 (ms, median of 5)');
  for (const kind of ['thread', 'process', 'async']) console.log(`${kind.padEnd(8)} ${(await startup(kind)).toFixed(1)}`);

  console.log('\n# per-task overhead: tiny task (inc), 1024 in flight; size 2 (thread, process) / 100 (async)');
  for (const kind of ['thread', 'process', 'async']) {
    const r = await perTask(kind);
    console.log(`${kind.padEnd(8)} ${fmt(r.tps).padStart(10)} tasks/s   one at a time: ${r.latencyUs.toFixed(1)} us/task`);
  }

  console.log('\n# payload: echo a Uint8Array there and back, one at a time (us/task)');
  for (const bytes of [1024, 1024 * 1024]) {
    const row = [];
    for (const kind of ['thread', 'process', 'async']) row.push(`${kind} ${(await payload(kind, bytes)).toFixed(0)}`);
    console.log(`${String(bytes / 1024).padStart(5)} KiB: ${row.join('   ')}`);
  }

  if (globalThis.gc !== undefined) {
    console.log('\n# memory per queued task (async pool, 200k queued; RSS delta / n)');
    console.log(`sluice async ${fmt(await queuedBytes(200_000))} B`);
  } else console.log('\n(run with --expose-gc for memory per queued task)');

  if (pqDir !== undefined) {
    const r = await pqueue(pqDir);
    console.log(`\n# p-queue, same machine: ${fmt(r.tps)} tasks/s (concurrency 100, 1024 in flight), ${fmt(r.bytes)} B per queued task`);
  }

  console.log('\n# IPC serialisation, bare fork echo, round trips/s');
  const small = { id: 42, name: 'task', input: { a: 1, b: [1, 2, 3] } };
  const obj = { rows: Array.from({ length: 1000 }, (_, i) => ({ i, s: `row-${i}`, f: i / 3 })) };
  const bin = new Uint8Array(256 * 1024).fill(1);
  for (const [label, msg, n] of [
    ['small object', small, 20_000],
    ['1000-row object', obj, 1_000],
    ['256 KiB bytes', bin, 300],
  ]) {
    const json = await ipc('json', label === '256 KiB bytes' ? { data: Array.from(bin) } : msg, n);
    const adv = await ipc('advanced', msg, n);
    console.log(`${label.padEnd(16)} json ${fmt(json).padStart(8)}   advanced ${fmt(adv).padStart(8)}`);
  }
}
