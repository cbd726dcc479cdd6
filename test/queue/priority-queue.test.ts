/** Unit tests of the priority queue: no workers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PriorityQueue } from '../../src/queue/priority-queue.js';

interface Item {
  queued: boolean;
  qgen: number;
  qkey: number;
  name: string;
}
const item = (name: string, qkey: number): Item => ({ queued: false, qgen: 0, qkey, name });

test('PriorityQueue: higher key first, FIFO among equal keys', () => {
  const q = new PriorityQueue<Item>();
  for (const [n, k] of [['a', 0], ['b', 5], ['c', 0], ['d', 5], ['e', -1], ['f', 0]] as const) q.push(item(n, k));
  assert.deepEqual(q.drain().map((i) => i.name), ['b', 'd', 'a', 'c', 'f', 'e']);
});

test('PriorityQueue: peek returns what shift would, past deleted tasks, without taking it', () => {
  const q = new PriorityQueue<Item>();
  assert.equal(q.peek(), undefined);
  const low = item('low', 0);
  const high = item('high', 9);
  q.push(low);
  q.push(high);
  assert.equal(q.peek(), high);
  q.delete(high);
  assert.equal(q.peek(), low);
  assert.equal(q.size, 1);
  assert.equal(q.shift(), low);
  assert.equal(q.peek(), undefined);
});

test('PriorityQueue: unshift puts tasks back at the very front, last put back first', () => {
  const q = new PriorityQueue<Item>();
  q.push(item('high', 100));
  const x = item('x', 0);
  const y = item('y', 0);
  q.unshift(y);
  q.unshift(x);
  assert.deepEqual(q.drain().map((i) => i.name), ['x', 'y', 'high']);
});

test('PriorityQueue: evictLowest takes the lowest key (the newest among equals); evictOldest the longest waiting', () => {
  const q = new PriorityQueue<Item>();
  const items = [item('a', 1), item('b', 0), item('c', 0), item('d', 2)];
  for (const i of items) q.push(i);
  assert.equal(q.peekLowest()?.name, 'c');
  assert.equal(q.evictLowest()?.name, 'c');
  assert.equal(q.evictOldest()?.name, 'a');
  assert.equal(q.size, 2);
  assert.deepEqual(q.drain().map((i) => i.name), ['d', 'b']);
  assert.equal(q.evictLowest(), undefined);
  assert.equal(q.evictOldest(), undefined);
});

test('PriorityQueue: deleted and re-queued tasks leave no stale entries behind, and stale entries are compacted', () => {
  const q = new PriorityQueue<Item>();
  const items = Array.from({ length: 500 }, (_, n) => item(`t${n}`, n % 7));
  for (const i of items) q.push(i);
  for (const i of items.slice(0, 400)) q.delete(i);
  assert.equal(q.size, 100);
  // Re-queue a deleted task: it must come out once, not twice.
  const again = items[3] as Item;
  q.push(again);
  const out = q.drain();
  assert.equal(out.length, 101);
  assert.equal(new Set(out).size, 101);
  assert.equal(q.shift(), undefined);
});
