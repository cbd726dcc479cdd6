import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerError, TaskFailedError } from '../../src/index.js';
import { NotFoundError } from '../fixtures/tasks.js';
import { outcome, taskPool } from '../helpers/index.js';

test('a thrown Error comes back with class name, message, stack, code, and own properties', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const r = await outcome(pool.run('fail', 'error'));
    assert.ok(!r.ok);
    const e = r.error as Error & { code: string; detail: { n: number } };
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'Error');
    assert.equal(e.message, 'boom');
    assert.equal(e.code, 'E_BOOM');
    assert.deepEqual(e.detail, { n: 42 });
    assert.match(e.stack ?? '', /fixtures[/\\]tasks\.js/, 'the stack is the worker-side stack');
  } finally {
    await pool.close();
  }
});

test('the cause chain crosses intact, with built-in classes restored', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const r = await outcome(pool.run('fail', 'cause'));
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'outer');
    const inner = r.error.cause as Error;
    assert.ok(inner instanceof TypeError);
    assert.equal(inner.message, 'inner');
    assert.ok(inner.cause instanceof RangeError);
    assert.equal(inner.cause.message, 'innermost');
  } finally {
    await pool.close();
  }
});

test('registerError makes a user class round-trip as an instanceof-able instance', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const before = await outcome(pool.run('fail', 'custom'));
    assert.ok(!before.ok);
    assert.equal(before.error.name, 'NotFoundError', 'unregistered: the name still says the class');
    assert.ok(!(before.error instanceof NotFoundError));
    registerError(NotFoundError);
    const after = await outcome(pool.run('fail', 'custom'));
    assert.ok(!after.ok && after.error instanceof NotFoundError);
    assert.equal(after.error.key, 'k1');
    assert.equal(after.error.code, 'E_NOT_FOUND');
    assert.equal(after.error.message, 'no such key: k1');
  } finally {
    await pool.close();
  }
});

test('non-Error throws are wrapped clearly in TaskFailedError, keeping the value', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const s = await outcome(pool.run('fail', 'string'));
    assert.ok(!s.ok && s.error instanceof TaskFailedError);
    assert.equal(s.error.code, 'ERR_SLUICE_TASK_FAILED');
    assert.equal(s.error.thrown, 'plain string');
    assert.match(s.error.message, /task "fail" threw a non-Error value: "plain string" \(string\)/);
    const o = await outcome(pool.run('fail', 'object'));
    assert.ok(!o.ok && o.error instanceof TaskFailedError);
    assert.deepEqual(o.error.thrown, { reason: 'bad', n: 1 });
  } finally {
    await pool.close();
  }
});
