/** Unit test of the auto pipeline's depth (src/engine/pipeline.ts). No workers spawned. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admitWaiting, ASYNC_DEPTH, PIPELINE_MAX, tunePipeline } from '../../src/engine/pipeline.js';
import { WorkerSlot } from '../../src/engine/worker-slot.js';
import type { WorkerHandle } from '../../src/worker/handle.js';

function slot(): WorkerSlot {
  return new WorkerSlot({ id: 1 } as WorkerHandle, 1);
}

/** `n` results after `ms` busy, as the scheduler reports them. */
function results(s: WorkerSlot, n: number, ms: number): void {
  s.inflightCount = 1;
  s.busySince = performance.now() - ms;
  tunePipeline(s, n);
}

test('short tasks: the depth keeps about a millisecond of work queued, up to PIPELINE_MAX', () => {
  const s = slot();
  results(s, 1, 5);
  assert.equal(s.depth, 1, 'a 5 ms task: one at a time');
  for (let i = 0; i < 40; i++) results(s, 100, 0.1);
  assert.equal(s.depth, PIPELINE_MAX);
});

test('a worker whose tasks wait keeps ASYNC_DEPTH, whatever its results say; when they stop waiting it measures afresh from 1', () => {
  const s = slot();
  results(s, 1, 20);
  admitWaiting(s, true);
  assert.equal(s.depth, ASYNC_DEPTH);
  // Results of tasks side by side come in bursts: they would read as tiny service times.
  for (let i = 0; i < 40; i++) results(s, 32, 0.01);
  assert.equal(s.depth, ASYNC_DEPTH);
  admitWaiting(s, false);
  assert.equal(s.depth, 1);
  assert.equal(s.serviceMs, -1);
  results(s, 1, 5);
  assert.equal(s.depth, 1);
});
