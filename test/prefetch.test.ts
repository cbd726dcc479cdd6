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
import { Gate, eventually, taskPool } from './helpers.js';

type Pool = ReturnType<typeof taskPool>;

async function readyPool(opts: Parameters<typeof taskPool>[0]): Promise<Pool> {
  const pool = taskPool(opts);
  await eventually(() => pool.stats().workerList.filter((w) => w.state === 'ready').length === 2, 'both workers ready');
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
