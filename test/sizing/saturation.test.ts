/** The saturation alarm (src/sizing/alarms.ts) and the load window in stats(). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/testing.js';
import { Gate, taskPool } from '../helpers/index.js';

test('saturated fires when queue depth stays above 2 × max size for afterMs, unsaturated when it drops; stats().window reports it', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, clock, saturation: { sampleMs: 100, windowMs: 1000, afterMs: 300 } });
  const events: string[] = [];
  pool.on('saturated', (p: { queueDepth: number }) => events.push(`saturated:${p.queueDepth}`));
  pool.on('unsaturated', () => events.push('unsaturated'));
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const queued = [1, 2, 3].map((n) => pool.run('inc', n)); // depth 3 > 2 × 1
    clock.advance(300);
    assert.deepEqual(events, [], 'above the threshold for less than afterMs');
    clock.advance(100);
    assert.deepEqual(events, ['saturated:3']);
    const w = pool.stats().window;
    assert.equal(w.queueDepth.max, 3);
    assert.equal(w.utilization, 1);
    assert.equal(w.spanMs, 400);
    gate.release();
    await Promise.all([first, ...queued]);
    clock.advance(100);
    assert.deepEqual(events, ['saturated:3', 'unsaturated']);
    assert.ok(pool.stats().window.queueDepth.avg < 3);
  } finally {
    await pool.close();
  }
});
