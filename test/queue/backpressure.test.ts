import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ManualClock } from '../../src/testing.js';
import { QueueFullError } from '../../src/index.js';
import { Gate, outcome, taskPool } from '../helpers/index.js';

test("overflow 'reject': a full queue rejects run() at once with QueueFullError (no synchronous throw)", async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, queue: { capacity: 2, overflow: 'reject' } });
  try {
    const running = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const q1 = pool.run('inc', 1);
    const q2 = pool.run('inc', 2);
    let third: Promise<number> | undefined;
    assert.doesNotThrow(() => {
      third = pool.run('inc', 3);
    });
    const r = await outcome(third as Promise<number>);
    assert.ok(!r.ok && r.error instanceof QueueFullError);
    assert.equal(r.error.code, 'ERR_SLUICE_QUEUE_FULL');
    assert.match(r.error.message, /queue is full: 2 waiting, 1 running/);
    assert.equal(pool.stats().rejected, 1);
    gate.release();
    assert.deepEqual(await Promise.all([running, q1, q2]), [0, 2, 3]);
  } finally {
    await pool.close();
  }
});

test("overflow 'wait': run() waits for room, in order, and ready() resolves when there is room", async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, queue: { capacity: 1, overflow: 'wait' } });
  try {
    const running = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const queued = pool.run('inc', 1);
    const waiting = [pool.run('inc', 10), pool.run('inc', 20)];
    assert.equal(pool.stats().waiting, 2);
    let readyResolved = false;
    const ready = pool.ready().then(() => (readyResolved = true));
    await Promise.resolve();
    assert.equal(readyResolved, false, 'ready() waits while the queue is full');
    gate.release();
    assert.deepEqual(await Promise.all([running, queued, ...waiting]), [0, 2, 11, 21]);
    await ready;
    assert.equal(readyResolved, true);
  } finally {
    await pool.close();
  }
});

test("overflow 'wait' honours the signal and queueTimeoutMs (injected clock)", async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, queue: { capacity: 1, overflow: 'wait' }, clock });
  try {
    const running = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const queued = pool.run('inc', 1);
    const timedOut = outcome(pool.run('inc', 2, { queueTimeoutMs: 100 }));
    const ac = new AbortController();
    const aborted = outcome(pool.run('inc', 3, { signal: ac.signal }));
    clock.advance(99);
    assert.equal(pool.stats().waiting, 2);
    clock.advance(1);
    const t = await timedOut;
    assert.ok(!t.ok && t.error.code === 'ERR_SLUICE_QUEUE_TIMEOUT');
    ac.abort(new Error('user gave up'));
    const a = await aborted;
    assert.ok(!a.ok && a.error.code === 'ERR_SLUICE_TASK_ABORTED');
    assert.equal((a.error.cause as Error).message, 'user gave up');
    assert.equal(pool.stats().waiting, 0);
    gate.release();
    assert.deepEqual(await Promise.all([running, queued]), [0, 2]);
  } finally {
    await pool.close();
  }
});

test('memory stays flat when far more tasks are offered than the queue holds', async () => {
  // A real collection before each reading, so the figure is what is retained, not garbage not yet collected.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, queue: { capacity: 100, overflow: 'reject' } });
  try {
    const running = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const queued: Promise<number>[] = [];
    for (let i = 0; i < 100; i++) queued.push(pool.run('inc', i));
    const payload = 'x'.repeat(10_000);
    gc();
    const before = process.memoryUsage().heapUsed;
    let refused = 0;
    // 200k offers of a distinct 10 kB string each: if refused tasks were
    // retained this would hold 2 GB; the pool keeps only the 100 it accepted.
    for (let i = 0; i < 200_000; i++) {
      pool.run('echoAsync', payload + String(i)).catch(() => refused++);
    }
    await new Promise((r) => setImmediate(r));
    gc();
    const after = process.memoryUsage().heapUsed;
    assert.equal(refused, 200_000);
    assert.equal(pool.stats().queued, 100);
    assert.ok(after - before < 20 * 1024 * 1024, `retained heap grew by ${Math.round((after - before) / 1048576)} MiB`);
    gate.release();
    await Promise.all([running, ...queued]);
  } finally {
    gate.release();
    await pool.close();
  }
});
