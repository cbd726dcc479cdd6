import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool, WorkerCrashedError } from '../../src/index.js';
import { mulberry32, outcome, taskPool } from '../helpers/index.js';

test('process.exit in a task rejects it with WorkerCrashedError (exit code, worker id, task) and the worker is replaced', async () => {
  const pool = taskPool({ size: 1 });
  try {
    await pool.start();
    const r = await outcome(pool.run('exit', 3));
    assert.ok(!r.ok && r.error instanceof WorkerCrashedError);
    const e = r.error;
    assert.equal(e.code, 'ERR_SLUICE_WORKER_CRASHED');
    assert.equal(e.exitCode, 3);
    assert.equal(e.workerId, 1);
    assert.equal(e.taskName, 'exit');
    assert.equal(e.reason, 'exit');
    assert.equal(await pool.run('inc', 1), 2, 'replaced and working');
  } finally {
    await pool.close();
  }
});

test('an uncaught exception in a worker timer rejects the task with WorkerCrashedError carrying the error', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const r = await outcome(pool.run('throwInTimer', undefined));
    assert.ok(!r.ok && r.error instanceof WorkerCrashedError);
    assert.equal((r.error).reason, 'error');
    assert.match((r.error.cause as Error).message, /thrown from a timer/);
    assert.equal(await pool.run('inc', 1), 2);
  } finally {
    await pool.close();
  }
});

test('heap OOM under resourceLimits rejects with WorkerCrashedError (reason oom); other tasks are untouched', async () => {
  const pool = taskPool({ size: 2, resourceLimits: { maxOldGenerationSizeMb: 32 } });
  try {
    const others = Array.from({ length: 20 }, (_, i) => pool.run('inc', i));
    const r = await outcome(pool.run('allocate', undefined));
    assert.ok(!r.ok && r.error instanceof WorkerCrashedError, String(!r.ok && r.error));
    assert.equal((r.error).reason, 'oom');
    assert.match(r.error.message, /ran out of memory while running "allocate"/);
    assert.deepEqual(await Promise.all(others), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(await pool.run('inc', 1), 2);
  } finally {
    await pool.close();
  }
});

test('thousands of tasks with random crashes: every promise settles once and the books balance', async () => {
  const seed = Number(process.env.SLUICE_SEED ?? 1234);
  const rand = mulberry32(seed);
  const pool = createPool<typeof import('../fixtures/crashy.js')>({ module: new URL('../fixtures/crashy.js', import.meta.url), size: 2, queue: { capacity: 500, overflow: 'wait' } });
  const N = 3000;
  let settledTwice = 0;
  const results = await Promise.all(
    Array.from({ length: N }, (_, n) => {
      const x = rand();
      const mode = x < 0.005 ? 'exit' : x < 0.01 ? 'timer' : x < 0.1 ? 'throw' : 'ok';
      let settled = 0;
      return pool.run('maybe', { n, mode }).then(
        (v) => {
          if (++settled > 1) settledTwice++;
          return { n, mode, ok: true as const, v };
        },
        (e: Error & { code?: string }) => {
          if (++settled > 1) settledTwice++;
          return { n, mode, ok: false as const, code: e.code };
        },
      );
    }),
  );
  try {
    assert.equal(settledTwice, 0);
    const s = pool.stats();
    assert.equal(s.submitted, N, `seed ${seed}`);
    assert.equal(s.submitted, s.completed + s.failed + s.rejected, `books balance (seed ${seed})`);
    assert.equal(s.running + s.queued + s.waiting, 0, 'nothing pending');
    for (const r of results) {
      if (r.mode === 'ok' && r.ok) assert.equal(r.v, r.n);
      if (r.mode === 'exit' || r.mode === 'timer') assert.equal(r.ok ? 'ok' : r.code, 'ERR_SLUICE_WORKER_CRASHED', `task ${r.n} (${r.mode})`);
      if (r.mode === 'throw') assert.ok(!r.ok);
      // An 'ok' task may only fail if its worker crashed under it (it was already running).
      if (r.mode === 'ok' && !r.ok) assert.equal(r.code, 'ERR_SLUICE_WORKER_CRASHED');
    }
    const completed = results.filter((r) => r.ok).length;
    assert.equal(completed, s.completed);
    assert.ok(completed > N * 0.8, `most tasks complete (${completed})`);
  } finally {
    await pool.close();
  }
});
