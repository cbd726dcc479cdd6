/** Unit test of the `exclusive` declaration in a module's `sluice` export (src/runtime/lifecycle.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exclusiveTasks, findHooks } from '../../src/runtime/lifecycle.js';

const NAMES = ['a', 'b', 'c'];

test('exclusive: true marks every task; a list marks its names; none, false or [] gives null', () => {
  assert.deepEqual(exclusiveTasks(findHooks({ sluice: { exclusive: true } }), NAMES), new Uint8Array([1, 1, 1]));
  assert.deepEqual(exclusiveTasks(findHooks({ sluice: { exclusive: ['c', 'a'] } }), NAMES), new Uint8Array([1, 0, 1]));
  for (const sluice of [{}, { exclusive: false }, { exclusive: [] }]) assert.equal(exclusiveTasks(findHooks({ sluice }), NAMES), null);
  assert.equal(exclusiveTasks(findHooks({}), NAMES), null);
});

test('a CommonJS module declares it on module.exports.sluice', () => {
  assert.deepEqual(exclusiveTasks(findHooks({ default: { sluice: { exclusive: ['b'] } } }), NAMES), new Uint8Array([0, 1, 0]));
});

test('a wrong declaration is refused, naming what was expected', () => {
  assert.throws(() => findHooks({ sluice: { exclusive: 'a' } }), /sluice\.exclusive must be true, false or an array of task names, got string/);
  assert.throws(() => findHooks({ sluice: { exclusive: ['a', 1] } }), /got an array with a value that is not a string/);
  assert.throws(() => exclusiveTasks(findHooks({ sluice: { exclusive: ['d'] } }), NAMES), /names "d", which is not a task of this module \(its tasks: a, b, c\)/);
});
