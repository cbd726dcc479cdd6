/** Unit tests of the priority queue and the retry policy: no workers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidOptionError, TaskAbortedError, TaskTimeoutError, WorkerCrashedError, DeadlineExceededError, SerializationError } from '../src/index.js';
import { PriorityQueue } from '../src/queue/priority-queue.js';
import { NO_RETRY, resolveRetry, retryDelay, shouldRetry } from '../src/supervision/retry.js';

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

test('retry schedule: exponential doubles from baseMs up to maxMs; fixed stays; full jitter scales by the random source', () => {
  const exp = resolveRetry('retry', { attempts: 6, backoff: 'exponential', baseMs: 100, maxMs: 1000, jitter: 'none' });
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => retryDelay(exp, a)), [100, 200, 400, 800, 1000]);
  const fixed = resolveRetry('retry', { attempts: 3, backoff: 'fixed', baseMs: 250, jitter: 'none' });
  assert.deepEqual([1, 2, 3].map((a) => retryDelay(fixed, a)), [250, 250, 250]);
  const jittered = resolveRetry('retry', { attempts: 3, baseMs: 100, jitter: 'full', random: () => 0.5 });
  assert.deepEqual([1, 2, 3].map((a) => retryDelay(jittered, a)), [50, 100, 200]);
});

test('shouldRetry: task errors yes; cancellation and deadlines never; timeouts and crashes only when retryOn says so', () => {
  const p = resolveRetry('retry', { attempts: 3 });
  assert.equal(shouldRetry(p, new Error('x'), 1), true);
  assert.equal(shouldRetry(p, new Error('x'), 3), false, 'attempts exhausted');
  assert.equal(shouldRetry(p, new TaskAbortedError('t', 'r'), 1), false);
  assert.equal(shouldRetry(p, new DeadlineExceededError('t', 5, false), 1), false);
  assert.equal(shouldRetry(p, new TaskTimeoutError('t', 5), 1), false);
  assert.equal(shouldRetry(p, new WorkerCrashedError({ workerId: 1, reason: 'exit' }), 1), false);
  assert.equal(shouldRetry(p, new SerializationError('t', 'output', null), 1), false);
  const yes = resolveRetry('retry', { attempts: 3, retryOn: () => true });
  assert.equal(shouldRetry(yes, new TaskTimeoutError('t', 5), 1), true);
  assert.equal(shouldRetry(yes, new WorkerCrashedError({ workerId: 1, reason: 'exit' }), 1), true);
  assert.equal(shouldRetry(yes, new TaskAbortedError('t', 'r'), 1), false, 'never, whatever retryOn says');
  const picky = resolveRetry('retry', { attempts: 3, retryOn: (e: unknown) => (e as Error).message === 'transient' });
  assert.equal(shouldRetry(picky, new Error('transient'), 1), true);
  assert.equal(shouldRetry(picky, new Error('permanent'), 1), false);
  assert.equal(shouldRetry(NO_RETRY, new Error('x'), 1), false, 'no retries by default');
});

test('bad retry options are coded InvalidOptionErrors naming the option', () => {
  const bad = (v: unknown, re: RegExp) => assert.throws(() => resolveRetry('retry', v), (e: unknown) => e instanceof InvalidOptionError && re.test(e.message));
  bad({ attempts: -1 }, /^retry\.attempts must be a positive integer, got -1 \(number\)$/);
  bad({ attempts: 0 }, /^retry\.attempts must be a positive integer/);
  bad({ backoff: 'linear' }, /^retry\.backoff must be one of 'exponential', 'fixed', got "linear"/);
  bad({ retryOn: 'yes' }, /^retry\.retryOn must be a function/);
  bad({ baseMs: -3 }, /^retry\.baseMs must be a non-negative number/);
  bad('x', /^retry must be an object/);
});
