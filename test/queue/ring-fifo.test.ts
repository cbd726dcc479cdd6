/** Unit tests of the FIFO queues: the ring buffer and the TaskQueue with O(1) deletion. No workers spawned. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RingQueue } from '../../src/queue/ring.js';
import { FifoQueue } from '../../src/queue/task-queue.js';

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
