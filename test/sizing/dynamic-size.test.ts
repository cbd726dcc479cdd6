import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/testing.js';
import { Gate, taskPool } from '../helpers/index.js';

test('dynamic size: workers are added under queue pressure up to max and retired one by one when idle, never below min', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const pool = taskPool({ size: { min: 1, max: 3, idleTimeoutMs: 1000 }, pipeline: 1, clock });
  try {
    await pool.start();
    assert.equal(pool.stats().size, 1);
    const runs = Array.from({ length: 6 }, (_, i) => pool.run('gate', { flag: gate.flag, value: i }));
    await gate.waitStarted(3);
    const busy = pool.stats();
    assert.equal(busy.size, 3, 'grew to max');
    assert.equal(busy.workers.busy, 3);
    assert.equal(gate.started, 3, 'never more than max at once');
    gate.release();
    assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4, 5]);
    assert.equal(pool.stats().size, 3, 'idle workers stay until their idle timeout');
    clock.advance(999);
    assert.equal(pool.stats().size, 3);
    clock.advance(1);
    // Retirement terminates threads; wait for their exit to be observed.
    while (pool.stats().size > 1) await new Promise((r) => setImmediate(r));
    assert.equal(pool.stats().size, 1, 'retired down to min, not below');
    clock.advance(10_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(pool.stats().size, 1);
    assert.equal(await pool.run('inc', 1), 2);
  } finally {
    await pool.close();
  }
});

test('dynamic size with min 0 starts a worker on demand', async () => {
  const clock = new ManualClock();
  const pool = taskPool({ size: { min: 0, max: 2, idleTimeoutMs: 50 }, clock });
  try {
    assert.equal(await pool.run('inc', 1), 2);
    clock.advance(50);
    while (pool.stats().size > 0) await new Promise((r) => setImmediate(r));
    assert.equal(pool.stats().size, 0);
    assert.equal(await pool.run('inc', 2), 3, 'a new worker starts for new work');
  } finally {
    await pool.close();
  }
});
