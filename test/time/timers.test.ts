/** Unit tests of the timer heap and the injectable clock. No workers spawned. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/time/clock.js';
import { CallbackTimer, TimerHeap } from '../../src/time/timer-heap.js';

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
