import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from '../../src/index.js';
import { Gate, TASKS, taskPool, type TasksModule } from '../helpers/index.js';

test('runs tasks and returns their outputs', async () => {
  const pool = taskPool();
  try {
    assert.equal(await pool.run('add', { a: 2, b: 3 }), 5);
    assert.deepEqual(await Promise.all([1, 2, 3].map((n) => pool.run('inc', n))), [2, 3, 4]);
    assert.equal(await pool.run('echoAsync', 'x'), 'x');
    assert.deepEqual([...pool.tasks].sort(), pool.tasks, 'task names are listed, sorted');
    assert.ok(pool.tasks.includes('add') && !pool.tasks.includes('notATask') && !pool.tasks.includes('NotFoundError'));
  } finally {
    await pool.close();
  }
});

test('ctx carries taskId, correlationId (given or generated) and workerId', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const given = await pool.run('context', null, { correlationId: 'req-42' });
    assert.equal(given.correlationId, 'req-42');
    assert.equal(typeof given.taskId, 'number');
    assert.equal(given.workerId, 1);
    assert.equal(given.aborted, false);
    const generated = await pool.run('context', null);
    assert.match(generated.correlationId, /^sluice-[0-9a-f]{6}-\d+$/);
    assert.ok(generated.correlationId.endsWith(String(generated.taskId)));
    assert.notEqual(generated.taskId, given.taskId);
  } finally {
    await pool.close();
  }
});

test('bounded concurrency: never more than `size` workers or tasks running on them, under load', async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 3, pipeline: 1 });
  try {
    const runs = Array.from({ length: 12 }, () => pool.run('gate', { flag: gate.flag, value: 1 }));
    await gate.waitStarted(3);
    const s = pool.stats();
    assert.equal(s.size, 3);
    assert.equal(s.workers.busy, 3);
    assert.equal(s.running, 3);
    assert.equal(s.queued, 9);
    assert.equal(gate.started, 3, 'only three tasks started');
    gate.release();
    assert.deepEqual(await Promise.all(runs), Array(12).fill(1));
    const after = pool.stats();
    assert.ok(after.size <= 3);
    assert.equal(after.completed, 12);
    assert.equal(after.running, 0);
  } finally {
    await pool.close();
  }
});

test('stats() returns a fresh frozen snapshot', async () => {
  const pool = taskPool({ size: 1 });
  try {
    await pool.start();
    const a = pool.stats();
    await pool.run('inc', 1);
    const b = pool.stats();
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.workers));
    assert.equal(a.completed, 0);
    assert.equal(b.completed, 1);
    assert.equal(b.submitted, 1);
    assert.equal(b.state, 'running');
  } finally {
    await pool.close();
  }
});

test('close() is two-phase: refuses new work, drains queued and running, then stops workers', async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1 });
  const running = pool.run('gate', { flag: gate.flag, value: 'a' });
  const queued = pool.run('inc', 1);
  await gate.waitStarted(1);
  const closing = pool.close();
  assert.equal(pool.close(), closing, 'close is idempotent');
  await assert.rejects(pool.run('inc', 1), { code: 'ERR_SLUICE_POOL_CLOSED' });
  await assert.rejects(pool.ready(), { code: 'ERR_SLUICE_POOL_CLOSED' });
  assert.equal(pool.stats().state, 'closing');
  gate.release();
  assert.equal(await running, 'a');
  assert.equal(await queued, 2);
  await closing;
  const s = pool.stats();
  assert.equal(s.state, 'closed');
  assert.equal(s.size, 0);
  await assert.rejects(pool.run('inc', 1), { code: 'ERR_SLUICE_POOL_CLOSED' });
});

test('close({ timeoutMs }) force-terminates what has not finished in time', async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1 });
  const stuck = assert.rejects(pool.run('gate', { flag: gate.flag, ignoreAbort: true }), { code: 'ERR_SLUICE_POOL_CLOSED' });
  const queued = assert.rejects(pool.run('inc', 1), { code: 'ERR_SLUICE_POOL_CLOSED' });
  await gate.waitStarted(1);
  await pool.close({ timeoutMs: 20 });
  await stuck;
  await queued;
  assert.equal(pool.stats().size, 0);
});

test('terminate() rejects every pending task with PoolClosedError at once', async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 2, pipeline: 1 });
  const tasks = Array.from({ length: 6 }, () => assert.rejects(pool.run('gate', { flag: gate.flag }), { code: 'ERR_SLUICE_POOL_CLOSED' }));
  await gate.waitStarted(2);
  await pool.terminate();
  await Promise.all(tasks);
  const s = pool.stats();
  assert.equal(s.size, 0);
  assert.equal(s.submitted, s.completed + s.failed + s.rejected);
  await pool.terminate(); // idempotent
});

test('await using closes the pool', async () => {
  let stats;
  {
    await using pool = taskPool({ size: 1 });
    assert.equal(await pool.run('inc', 41), 42);
    stats = () => pool.stats();
  }
  assert.equal(stats().state, 'closed');
});

test('a pool with no pending work does not keep the process alive (workers unref when idle)', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `
    import { createPool } from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)};
    const pool = createPool({ module: ${JSON.stringify(TASKS.href)}, size: 2 });
    console.log(await pool.run('inc', 1));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '2');
});

test('the module type checks names, inputs and outputs at compile time', async () => {
  const pool = createPool<TasksModule>({ module: TASKS, size: 1 });
  try {
    const n: number = await pool.run('add', { a: 1, b: 2 });
    assert.equal(n, 3);
    if (n < 0) {
      // Never runs: these lines are checked by tsc (npm run typecheck), which fails if an error is missing.
      // @ts-expect-error unknown task name
      await pool.run('nope', 1);
      // @ts-expect-error wrong input type
      await pool.run('add', 'x');
      // @ts-expect-error output is a number, not a string
      const s: string = await pool.run('inc', 1);
      void s;
      // @ts-expect-error non-function exports are not tasks
      await pool.run('notATask', 1);
    }
  } finally {
    await pool.close();
  }
});

test('terminate() of an idle pool waits for its workers to exit (regression: unreferenced child processes let the process end first)', async () => {
  const { spawnSync } = await import('node:child_process');
  for (const kind of ['thread', 'process']) {
    const script = `
      import { createPool } from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)};
      const pool = createPool({ kind: ${JSON.stringify(kind)}, module: ${JSON.stringify(TASKS.href)}, size: 1 });
      await pool.run('inc', 1);
      await pool.terminate();
      console.log('terminated', pool.stats().size);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'terminated 0', kind);
  }
});

test('a parent started with process-wide flags (--expose-gc) still gets thread workers: those flags are left out', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `
    import { createPool } from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)};
    const pool = createPool({ module: ${JSON.stringify(TASKS.href)}, size: 2 });
    console.log(await pool.run('inc', 41), await pool.run('inc', 1));
    await pool.close();
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '42 2');
});
