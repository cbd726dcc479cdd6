/** Unit test of which exports of a task module are tasks (src/runtime/collect-tasks.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectTasks } from '../../src/runtime/collect-tasks.js';

test('collectTasks takes exported functions, not classes or values, sorted', () => {
  class Err extends Error {}
  const names = collectTasks({ b: () => 1, a: () => Promise.resolve(2), Err, n: 3, default: { c: () => 3, b: () => 0 } }).map(([n]) => n);
  assert.deepEqual(names, ['a', 'b', 'c']);
});
