import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createPool, ModuleLoadError, SerializationError, UnknownTaskError } from '../../src/index.js';
import { outcome, taskPool } from '../helpers/index.js';

test('a module that does not exist: start rejects with ModuleLoadError (loader error as cause), no respawn loop', async () => {
  const pool = createPool({ module: pathToFileURL('/nonexistent/sluice/tasks.js'), size: 2 });
  const queued = outcome(pool.run('anything', 1));
  const r = await outcome(pool.start());
  assert.ok(!r.ok && r.error instanceof ModuleLoadError);
  assert.equal(r.error.code, 'ERR_SLUICE_MODULE_LOAD');
  assert.equal((r.error.cause as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
  const q = await queued;
  assert.ok(!q.ok && q.error instanceof ModuleLoadError, 'queued work is refused with the same error');
  await assert.rejects(pool.run('anything', 1), ModuleLoadError);
  await assert.rejects(pool.ready(), ModuleLoadError);
  await pool.close();
  const s = pool.stats();
  assert.equal(s.state, 'failed');
  assert.equal(s.size, 0, 'no worker is respawned');
});

test('a module that throws on import: ModuleLoadError with the thrown error as cause', async () => {
  const pool = createPool({ module: new URL('../fixtures/broken-import.js', import.meta.url), size: 1 });
  const r = await outcome(pool.start());
  assert.ok(!r.ok && r.error instanceof ModuleLoadError);
  assert.match((r.error.cause as Error).message, /this module refuses to load/);
  await pool.close();
  assert.equal(pool.stats().size, 0);
});

test('unknown task name: the error lists the available tasks', async () => {
  const pool = taskPool({ size: 1 });
  try {
    // Before the module is loaded, the check happens at dispatch; after, at submit.
    const early = await outcome(pool.run('nope' as 'inc', 1));
    assert.ok(!early.ok && early.error instanceof UnknownTaskError);
    assert.match(early.error.message, /unknown task "nope"; the module exports: .*\badd\b.*\binc\b/);
    const late = await outcome(pool.run('nope' as 'inc', 1));
    assert.ok(!late.ok && late.error instanceof UnknownTaskError);
    assert.ok((late.error).available.includes('inc'));
  } finally {
    await pool.close();
  }
});

test('an input that cannot be cloned: SerializationError naming the task, and the pool keeps working', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const many = [pool.run('inc', 1), pool.run('echoAsync', { f: () => 1 }), pool.run('inc', 2)];
    const [a, bad, b] = await Promise.all(many.map((p) => outcome(p)));
    assert.ok(a?.ok && b?.ok, 'tasks batched with the bad one are unaffected');
    assert.ok(bad && !bad.ok && bad.error instanceof SerializationError);
    assert.equal(bad.error.code, 'ERR_SLUICE_SERIALIZATION');
    assert.match(bad.error.message, /input of task "echoAsync" cannot be cloned/);
    assert.equal(await pool.run('inc', 5), 6);
  } finally {
    await pool.close();
  }
});

test('an output that cannot be cloned: SerializationError for that task only', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const [a, bad] = await Promise.all([outcome(pool.run('inc', 1)), outcome(pool.run('unclonableOutput', undefined))]);
    assert.ok(a.ok);
    assert.ok(!bad.ok && bad.error instanceof SerializationError);
    assert.match(bad.error.message, /output of task "unclonableOutput"/);
    assert.equal(await pool.run('inc', 1), 2);
  } finally {
    await pool.close();
  }
});

test('run() after close rejects with PoolClosedError', async () => {
  const pool = taskPool({ size: 1 });
  await pool.close();
  await assert.rejects(pool.run('inc', 1), { code: 'ERR_SLUICE_POOL_CLOSED' });
});
