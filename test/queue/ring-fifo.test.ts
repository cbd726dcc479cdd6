/** Unit tests of the engine's small parts: no workers spawned. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../src/time/clock.js';
import { RingQueue } from '../src/queue/ring.js';
import { FifoQueue } from '../src/queue/task-queue.js';
import { selectWorker } from '../src/engine/select.js';
import { CallbackTimer, TimerHeap } from '../src/time/timer-heap.js';
import { collectTasks } from '../src/runtime/collect-tasks.js';

test('RingQueue keeps FIFO order across growth and wrap-around', () => {
  const q = new RingQueue<number>(2);
  const expected: number[] = [];
  let next = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 7; i++) {
      q.push(next);
      expected.push(next++);
    }
    for (let i = 0; i < 5; i++) assert.equal(q.shift(), expected.shift());
  }
  q.unshift(-1);
  assert.equal(q.peek(), -1);
  assert.equal(q.shift(), -1);
  assert.equal(q.removeWhere((n) => n % 2 === 0), expected.filter((n) => n % 2 === 0).length);
  assert.deepEqual([...q], expected.filter((n) => n % 2 !== 0));
});

test('FifoQueue deletes from the middle in O(1) and compacts tombstones', () => {
  const q = new FifoQueue<{ queued: boolean; n: number }>();
  const items = Array.from({ length: 1000 }, (_, n) => ({ queued: false, n }));
  for (const it of items) q.push(it);
  for (const it of items) if (it.n % 3 !== 0) q.delete(it);
  assert.equal(q.size, 334);
  q.delete(items[1] as { queued: boolean; n: number }); // already deleted: no effect
  assert.equal(q.size, 334);
  const out = q.drain().map((i) => i.n);
  assert.deepEqual(out, items.filter((i) => i.n % 3 === 0).map((i) => i.n));
  assert.equal(q.size, 0);
  assert.equal(q.shift(), undefined);
});

test('FifoQueue.peek returns what shift would, past deleted tasks, without taking it', () => {
  const q = new FifoQueue<{ queued: boolean; n: number }>();
  assert.equal(q.peek(), undefined);
  const a = { queued: false, n: 1 };
  const b = { queued: false, n: 2 };
  q.push(a);
  q.push(b);
  q.delete(a);
  assert.equal(q.peek(), b);
  assert.equal(q.size, 1);
  assert.equal(q.shift(), b);
  assert.equal(q.peek(), undefined);
});

test('selectWorker picks the least-loaded worker with room, or none', () => {
  const w = (load: number, hasRoom = true) => ({ load, hasRoom });
  assert.equal(selectWorker([]), undefined);
  const a = w(3);
  const b = w(1);
  const c = w(0, false);
  assert.equal(selectWorker([a, b, c]), b);
  assert.equal(selectWorker([w(2, false), w(5, false)]), undefined);
  const idle = w(0);
  assert.equal(selectWorker([a, idle, b]), idle);
});

test('TimerHeap fires in due order with one armed timer, and cancels', () => {
  const clock = new ManualClock();
  const heap = new TimerHeap(clock);
  const fired: string[] = [];
  const t = (name: string) => new CallbackTimer(() => fired.push(name));
  const a = t('a');
  const b = t('b');
  const c = t('c');
  const d = t('d');
  heap.schedule(a, 30);
  heap.schedule(b, 10);
  heap.schedule(c, 20);
  heap.schedule(d, 15);
  assert.equal(clock.pending, 1, 'only the earliest is armed on the clock');
  heap.cancel(d);
  clock.advance(25);
  assert.deepEqual(fired, ['b', 'c']);
  heap.schedule(b, 40); // rescheduling a fired entry works
  clock.advance(100);
  assert.deepEqual(fired, ['b', 'c', 'a', 'b']);
  assert.equal(heap.size, 0);
  assert.equal(clock.pending, 0);
});

test('ManualClock fires timers in time order and only when advanced', () => {
  const clock = new ManualClock(100);
  const seen: number[] = [];
  clock.setTimeout(() => seen.push(clock.now()), 50);
  const h = clock.setTimeout(() => seen.push(-1), 10);
  clock.setTimeout(() => seen.push(clock.now()), 20);
  clock.clearTimeout(h);
  clock.advance(19);
  assert.deepEqual(seen, []);
  clock.advance(100);
  assert.deepEqual(seen, [120, 150]);
  assert.equal(clock.now(), 219);
});

test('collectTasks takes exported functions, not classes or values, sorted', () => {
  class Err extends Error {}
  const names = collectTasks({ b: () => 1, a: () => Promise.resolve(2), Err, n: 3, default: { c: () => 3, b: () => 0 } }).map(([n]) => n);
  assert.deepEqual(names, ['a', 'b', 'c']);
});

test('workers inherit loader flags but not the flags of how the parent was started', async () => {
  const { inheritedExecArgv } = await import('../src/worker/exec-argv.js');
  assert.deepEqual(
    inheritedExecArgv(['--import', 'tsx', '--input-type=module', '--eval', 'code', '--test', '--test-reporter', 'tap', '--max-old-space-size=100', '--enable-source-maps', '-e', 'x']),
    ['--import', 'tsx', '--max-old-space-size=100', '--enable-source-maps'],
  );
});

test('importedLoaders finds --import / --loader specifiers in either form', async () => {
  const { importedLoaders } = await import('../src/runtime/loader-hooks.js');
  assert.deepEqual(importedLoaders(['--import', 'tsx', '--loader=ts-node/esm', '--experimental-loader', 'x', '--max-old-space-size=9']), ['tsx', 'ts-node/esm', 'x']);
});
