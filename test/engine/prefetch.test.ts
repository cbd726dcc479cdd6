/**
 * Prefetch for long tasks under `pipeline: 'auto'` (scheduler #prefetchSlot):
 * one task is sent ahead to a busy depth-1 worker only while the backlog has
 * a task for every worker, so the end of a queue still goes to idle workers.
 * Gate tasks hold the workers, so every count below is read while nothing moves.
 * That a task sent ahead waits for a running async task is in kinds.test.ts,
 * for threads and processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/testing.js';
import { Gate, eventually, outcome, taskPool } from '../helpers/index.js';

type Pool = ReturnType<typeof taskPool>;

async function readyPool(opts: Parameters<typeof taskPool>[0]): Promise<Pool> {
  const pool = taskPool(opts);
  const size = typeof opts?.size === 'number' ? opts.size : 2;
  await eventually(() => pool.stats().workerList.filter((w) => w.state === 'ready').length === size, `${size} workers ready`);
  return pool;
}

/** In flight per worker, in worker order, and the queue length. */
function placement(pool: Pool): { inflight: number[]; queued: number } {
  const s = pool.stats();
  return { inflight: s.workerList.map((w) => w.inflight), queued: s.queued };
}

test("auto pipeline sends one task ahead to each busy worker while the backlog covers every worker", async () => {
  const pool = await readyPool({ size: 2 });
  const gate = new Gate();
  try {
    const all = Array.from({ length: 6 }, (_, i) => pool.run('gate', { flag: gate.flag, value: i }));
    await gate.waitStarted(2);
    // Two running, one waiting behind each, two left in the pool's queue.
    assert.deepEqual(placement(pool), { inflight: [2, 2], queued: 2 });
    gate.release();
    assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4, 5]);
  } finally {
    await pool.close();
  }
});

test('auto pipeline does not send ahead when the backlog is shorter than the worker count', async () => {
  const pool = await readyPool({ size: 2 });
  const gate = new Gate();
  try {
    const all = Array.from({ length: 3 }, (_, i) => pool.run('gate', { flag: gate.flag, value: i }));
    await gate.waitStarted(2);
    // The third task stays queued for whichever worker is free first.
    assert.deepEqual(placement(pool), { inflight: [1, 1], queued: 1 });
    gate.release();
    assert.deepEqual(await Promise.all(all), [0, 1, 2]);
  } finally {
    await pool.close();
  }
});

test('pipeline: 1 never sends ahead, whatever the backlog', async () => {
  const pool = await readyPool({ size: 2, pipeline: 1 });
  const gate = new Gate();
  try {
    const all = Array.from({ length: 6 }, (_, i) => pool.run('gate', { flag: gate.flag, value: i }));
    await gate.waitStarted(2);
    assert.deepEqual(placement(pool), { inflight: [1, 1], queued: 4 });
    gate.release();
    assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4, 5]);
  } finally {
    await pool.close();
  }
});

test('a task sent ahead to a worker that dies before starting it runs elsewhere, once', async () => {
  const pool = await readyPool({ size: 2 });
  const gate = new Gate();
  try {
    // Worker 0 gets 'exit' first and a gate task sent ahead behind it; the
    // exit kills the worker before that task starts, so it is requeued.
    const crash = pool.run('exit', 1).then(
      () => 'resolved',
      (e: Error & { code?: string }) => e.code,
    );
    const rest = Array.from({ length: 5 }, (_, i) => pool.run('gate', { flag: gate.flag, value: i }));
    await gate.waitStarted(1);
    gate.release();
    assert.equal(await crash, 'ERR_SLUICE_WORKER_CRASHED');
    assert.deepEqual(await Promise.all(rest), [0, 1, 2, 3, 4]);
    assert.equal(pool.stats().completed, 5);
  } finally {
    await pool.close();
  }
});

test('cancelling a task sent ahead does not kill its worker or the task it waits behind', async () => {
  const clock = new ManualClock();
  const pool = await readyPool({ size: 1, clock, abortGraceMs: 50 });
  const gate = new Gate();
  try {
    const workerBefore = pool.stats().workerList[0]?.id;
    const a = pool.run('gate', { flag: gate.flag, value: 'a' });
    const cancel = new AbortController();
    const b = outcome(pool.run('gate', { flag: gate.flag, value: 'b' }, { signal: cancel.signal }));
    const c = pool.run('gate', { flag: gate.flag, value: 'c' });
    await gate.waitStarted(1);
    assert.deepEqual(placement(pool), { inflight: [2], queued: 1 }, 'b was sent ahead');
    cancel.abort();
    const rb = await b;
    assert.equal(rb.ok ? 'resolved' : rb.error.code, 'ERR_SLUICE_TASK_ABORTED');
    // The abort grace runs out while b still waits behind a: b never
    // started, so there is no orphan to stop, and a must not be killed.
    clock.advance(50);
    clock.advance(50);
    gate.release();
    assert.equal(await a, 'a');
    assert.equal(await c, 'c');
    assert.equal(pool.stats().workerList[0]?.id, workerBefore, 'the worker was replaced');
  } finally {
    await pool.close();
  }
});

test('a task with a transfer list is never sent ahead (its buffers could not be requeued)', async () => {
  const pool = await readyPool({ size: 1 });
  const gate = new Gate();
  try {
    const a = pool.run('gate', { flag: gate.flag, value: 'a' });
    const buf = new ArrayBuffer(8);
    const b = pool.run('byteLength', buf, { transfer: [buf] });
    const c = pool.run('gate', { flag: gate.flag, value: 'c' });
    await gate.waitStarted(1);
    // b heads the queue and may not go ahead; c behind it waits its turn too.
    assert.deepEqual(placement(pool), { inflight: [1], queued: 2 });
    gate.release();
    assert.deepEqual(await Promise.all([a, b, c]), ['a', 8, 'c']);
  } finally {
    await pool.close();
  }
});

test('a task requeued because its worker died before starting it keeps all its retry attempts', async () => {
  // pipeline 2: the failing task goes in the same batch as the exit and never starts.
  const pool = await readyPool({ size: 1, pipeline: 2, retry: { attempts: 2, backoff: 'fixed', baseMs: 0 } });
  try {
    const crash = outcome(pool.run('exit', 1, { retry: { attempts: 1 } }));
    const failing = outcome(pool.run('fail', 'error'));
    const rc = await crash;
    assert.equal(rc.ok ? 'resolved' : rc.error.code, 'ERR_SLUICE_WORKER_CRASHED');
    const rf = await failing;
    assert.ok(!rf.ok);
    const err = rf.error as Error & { attempts?: number; previousErrors?: unknown[] };
    assert.equal(err.attempts, 2, 'two runs');
    assert.equal(err.previousErrors?.length, 1, 'the send to the dead worker used up an attempt');
  } finally {
    await pool.close();
  }
});
