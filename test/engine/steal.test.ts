/** Unit test of the work-stealing choice (src/engine/steal.ts). No workers spawned: slots over stub handles. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseSteal } from '../../src/engine/steal.js';
import { Task, TaskExtra, TaskState } from '../../src/engine/task.js';
import { INFLIGHT_MASK, SlotState, WorkerSlot } from '../../src/engine/worker-slot.js';
import type { WorkerHandle } from '../../src/worker/handle.js';

const defaults = new TaskExtra(true, Infinity, Infinity, Infinity, undefined);

/** A ready slot with `sent` tasks in flight, of which the first `started` have started; serviceMs as the auto pipeline measured it. */
function slot(id: number, sent: number, started: number, serviceMs: number): WorkerSlot {
  const handle = { id, startedAt: (seq: number) => (seq <= started ? 1 : undefined) } as unknown as WorkerHandle;
  const s = new WorkerSlot(handle, 128);
  s.state = SlotState.Ready;
  s.serviceMs = serviceMs;
  for (let i = 0; i < sent; i++) {
    const t = new Task(i + 1, 'busy', 1, null, 0, defaults);
    t.state = TaskState.Dispatched;
    t.slot = s;
    t.seq = ++s.seq;
    s.inflight[t.seq & INFLIGHT_MASK] = t;
    s.inflightCount++;
  }
  return s;
}

test('chooseSteal takes the newer half of the busiest inbox for an idle worker', () => {
  const idle = slot(1, 0, 0, 2);
  const busy = slot(2, 10, 2, 2); // 8 not started
  const pick = chooseSteal(idle, [idle, busy]);
  assert.ok(pick !== undefined);
  assert.equal(pick.victim, busy);
  assert.deepEqual(pick.seqs, [10, 9, 8, 7]);
});

test('chooseSteal leaves alone what will be done within a round trip, started work, and a worker already asked', () => {
  const idle = slot(1, 0, 0, 2);
  assert.equal(chooseSteal(idle, [idle, slot(2, 10, 2, 0.01)]), undefined, '8 tasks of 10 us: not worth a round trip');
  assert.equal(chooseSteal(idle, [idle, slot(3, 10, 10, 2)]), undefined, 'everything started');
  assert.equal(chooseSteal(idle, [idle, slot(4, 10, 2, -1)]), undefined, 'service time never measured (fixed pipeline)');
  const asked = slot(5, 10, 2, 2);
  asked.revoking.add(10);
  assert.equal(chooseSteal(idle, [idle, asked]), undefined, 'an answer is still due');
  const full = slot(6, 0, 0, 2);
  full.state = SlotState.Stopping;
  assert.equal(chooseSteal(full, [full, slot(7, 10, 2, 2)]), undefined, 'the idle worker must be able to take work');
});

test('chooseSteal prefers the worker with the most unstarted tasks', () => {
  const idle = slot(1, 0, 0, 2);
  const some = slot(2, 6, 2, 2);
  const more = slot(3, 12, 2, 2);
  assert.equal(chooseSteal(idle, [idle, some, more])?.victim, more);
});
