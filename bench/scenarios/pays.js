// (15) When a pool pays, and when it does not: the same work run without a
// pool and on one, in four comparisons (docs/kinds.md, "When a pool pays").
//   pbkdf2, gzip: a libuv-backed built-in's async API (already off the main
//     thread, on libuv's thread pool) vs. its sync version on a thread pool.
//   check Nus: a validation-like task on a 1 KB document, a plain loop vs. a
//     thread pool (pool.map's default), at 5 µs, 15 µs, 40 µs and 1 ms of work.
//   io: a 5 ms wait (a backend call): one at a time, Promise.all in batches
//     of 64, kind 'async' of size 64, and a thread pool.
// The ratio is pool / entry within each comparison (above 1: the pool is faster).
import { Buffer } from 'node:buffer';
import { pbkdf2 as pbkdf2Cb } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { now } from '../lib/measure.js';
import * as tasks from '../workers/pays-tasks.js';

const pbkdf2Async = promisify(pbkdf2Cb);
const gzipAsync = promisify(gzipCb);
const TASKS = new URL('../workers/pays-tasks.js', import.meta.url);

const DOC = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`field${i}`, i % 3 === 0 ? i : `value of field ${i} `.repeat(2)]));
const TEXT = Buffer.from(Array.from({ length: 2000 }, (_, i) => `line ${i}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 3))}`).join('\n').slice(0, 64 * 1024));

/** Each comparison: its items, and how each entry runs them (item => result or promise). */
const GROUPS = {
  pbkdf2: { pool: 'sync, thread pool', n: 2_000, quickN: 400, item: (i) => ({ password: `pw${i}`, salt: 'salt', iterations: 2000 }), task: 'pbkdf2' },
  gzip: { pool: 'sync, thread pool', n: 3_000, quickN: 600, item: () => TEXT, task: 'gzip' },
  'check 5us': { pool: 'thread pool', n: 100_000, quickN: 20_000, item: () => ({ doc: DOC, us: 5 }), task: 'check' },
  'check 15us': { pool: 'thread pool', n: 50_000, quickN: 10_000, item: () => ({ doc: DOC, us: 15 }), task: 'check' },
  'check 40us': { pool: 'thread pool', n: 20_000, quickN: 4_000, item: () => ({ doc: DOC, us: 40 }), task: 'check' },
  'check 1ms': { pool: 'thread pool', n: 1_000, quickN: 200, item: () => ({ doc: DOC, us: 1000 }), task: 'check' },
  io: { pool: 'thread pool', n: 640, quickN: 128, item: () => 5, task: 'io' },
};
const ENTRIES = {
  pbkdf2: ['sync, main thread', 'async (libuv), main thread', 'sync, thread pool'],
  gzip: ['sync, main thread', 'async (libuv), main thread', 'sync, thread pool'],
  'check 5us': ['plain loop', 'thread pool'],
  'check 15us': ['plain loop', 'thread pool'],
  'check 40us': ['plain loop', 'thread pool'],
  'check 1ms': ['plain loop', 'thread pool'],
  io: ['one at a time', 'Promise.all ×64', "kind 'async', 64", 'thread pool'],
};
/** The libuv-backed async calls: at most this many outstanding, as a careful caller bounds them (libuv runs 4 at a time). */
const LIBUV_INFLIGHT = 16;

const split = (entry) => {
  const at = entry.indexOf(': ');
  return { group: entry.slice(0, at), how: entry.slice(at + 2) };
};

/** Keeps `limit` calls of `fn` outstanding over `items`. */
async function bounded(items, limit, fn) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, lane));
}

async function openPool(kind, size) {
  const { createPool } = await import('../../dist/index.js');
  const pool = kind === 'async' ? createPool({ kind: 'async', tasks, size }) : createPool({ module: TASKS, size });
  await pool.start();
  return pool;
}

/** Runs the group's items the entry's way; resolves once every result is in. */
async function runner(group, how, threads) {
  const g = GROUPS[group];
  if (how === 'thread pool' || how === 'sync, thread pool' || how === "kind 'async', 64") {
    const pool = await openPool(how === "kind 'async', 64" ? 'async' : 'thread', how === "kind 'async', 64" ? 64 : threads);
    return {
      run: async (items) => {
        for await (const _ of pool.map(g.task, items)) void _;
      },
      close: () => pool.close(),
    };
  }
  const fn = tasks[g.task];
  const local = {
    'sync, main thread': (items) => items.forEach(fn),
    'plain loop': (items) => items.forEach(fn),
    'async (libuv), main thread': (items) =>
      group === 'pbkdf2' ? bounded(items, LIBUV_INFLIGHT, (x) => pbkdf2Async(x.password, x.salt, x.iterations, 32, 'sha256')) : bounded(items, LIBUV_INFLIGHT, (x) => gzipAsync(x)),
    'one at a time': async (items) => {
      for (const x of items) await fn(x);
    },
    'Promise.all ×64': async (items) => {
      for (let i = 0; i < items.length; i += 64) await Promise.all(items.slice(i, i + 64).map(fn));
    },
  }[how];
  if (local === undefined) throw new Error(`unknown entry '${group}: ${how}'`);
  return { run: (items) => Promise.resolve(local(items)), close: () => Promise.resolve() };
}

export default {
  title: 'When a pool pays: the same work without a pool and on one (2 workers)',
  sweep: false,
  entries: () => Object.entries(ENTRIES).flatMap(([group, hows]) => hows.map((how) => `${group}: ${how}`)),
  metrics: [{ key: 'itemsPerSec', label: 'items/s', better: 'higher' }],
  ratio: { label: 'pool/entry', reference: (entry) => `${split(entry).group}: ${GROUPS[split(entry).group].pool}` },
  summary(entries) {
    return Object.keys(ENTRIES).map((group) => {
      const mine = entries.filter((e) => split(e.id).group === group && e.median?.itemsPerSec !== undefined);
      const pool = mine.find((e) => split(e.id).how === GROUPS[group].pool);
      const best = mine.filter((e) => e !== pool).reduce((a, b) => (a === undefined || b.median.itemsPerSec > a.median.itemsPerSec ? b : a), undefined);
      if (pool === undefined || best === undefined) return `${group}: incomplete`;
      const r = pool.median.itemsPerSec / best.median.itemsPerSec;
      return `${group}: the pool gets ${r.toFixed(2)}× the best way without it (${split(best.id).how})${r < 1 ? ': the pool does not pay' : ''}`;
    });
  },
  async measure(entry, { threads, quick }) {
    const { group, how } = split(entry);
    const g = GROUPS[group];
    const n = quick ? g.quickN : g.n;
    const items = Array.from({ length: n }, (_, i) => g.item(i));
    const r = await runner(group, how, threads);
    try {
      await r.run(items.slice(0, Math.max(8, Math.ceil(n / 10)))); // warm: JIT, the pool's workers and pipeline
      const t0 = now();
      await r.run(items);
      const ms = now() - t0;
      return { itemsPerSec: (n / ms) * 1000, ms };
    } finally {
      await r.close();
    }
  },
};
