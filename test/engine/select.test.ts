/** Unit test of the engine's choice of worker (src/engine/select.ts). No workers spawned. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectWorker } from '../../src/engine/select.js';

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
