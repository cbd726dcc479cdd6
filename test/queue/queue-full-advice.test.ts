/**
 * QueueFullError's advice: when the run() calls of one tick alone fill the
 * queue (`Promise.all(inputs.map((x) => pool.run(...)))` over more inputs
 * than it holds), the message says what to use instead; a queue filled
 * call by call, over many ticks, gets the plain message.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createPool, QueueFullError } from '../../src/index.js';
import { outcome } from '../helpers/index.js';

/** An in-process pool of one whose task holds until released, so the queue stays as the test fills it. */
function heldPool(queue: { capacity: number; overflow?: 'wait'; maxWaiting?: number }) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const tasks = {
    async hold(x: number): Promise<number> {
      await held;
      return x;
    },
  };
  const pool = createPool({ kind: 'async', size: 1, queue, tasks });
  return { pool, release };
}

test('a burst of run() calls in one tick that fills the queue: QueueFullError says to use pool.map, overflow wait or ready()', async () => {
  const { pool, release } = heldPool({ capacity: 4 });
  try {
    const calls = Array.from({ length: 40 }, (_, i) => pool.run('hold', i));
    const results = await Promise.all(calls.slice(5).map(outcome)).finally(release);
    const errors = results.map((r) => (r.ok ? undefined : r.error));
    assert.ok(errors.every((e) => e instanceof QueueFullError), 'one running, four queued, the rest refused');
    // The 6th call is the first refused: 5 tasks without a worker are too few to call a burst.
    assert.equal(errors[0]?.message, 'queue is full: 4 waiting, 1 running');
    // The first worker took one: 39 found none.
    assert.equal(
      errors[39 - 5]?.message,
      "queue is full: 4 waiting, 1 running; 39 tasks in this tick found no free worker: to run many inputs, use pool.map(name, inputs), which keeps a bounded number in flight; queue.overflow: 'wait'; or await pool.ready() before each run()",
    );
    assert.deepEqual(await Promise.all(calls.slice(0, 5)), [0, 1, 2, 3, 4]);
  } finally {
    await pool.close();
  }
});

test('a queue filled one call per tick: the plain message, however many calls', async () => {
  const { pool, release } = heldPool({ capacity: 20 });
  try {
    const outcomes = [];
    for (let i = 0; i < 22; i++) {
      outcomes.push(outcome(pool.run('hold', i)));
      await nextTurn(); // a new tick: the count starts again
    }
    release();
    const results = await Promise.all(outcomes);
    assert.ok(results.slice(0, 21).every((r) => r.ok), 'one running, twenty queued');
    const last = results[21];
    assert.ok(last !== undefined && !last.ok && last.error instanceof QueueFullError, 'the 22nd call is refused');
    assert.equal(last.error.message, 'queue is full: 20 waiting, 1 running');
  } finally {
    release();
    await pool.close();
  }
});

test("with overflow 'wait', a burst past maxWaiting: the advice leaves out overflow 'wait'", async () => {
  const { pool, release } = heldPool({ capacity: 2, overflow: 'wait', maxWaiting: 3 });
  try {
    const calls = Array.from({ length: 20 }, (_, i) => pool.run('hold', i));
    const last = await outcome(calls[19] as Promise<unknown>);
    assert.ok(!last.ok);
    assert.equal(
      last.error.message,
      'queue is full: 2 waiting, 1 running, and 3 callers already waiting for room (queue.maxWaiting); 19 tasks in this tick found no free worker: to run many inputs, use pool.map(name, inputs), which keeps a bounded number in flight; or await pool.ready() before each run()',
    );
    release();
    await Promise.allSettled(calls);
  } finally {
    release();
    await pool.close();
  }
});
