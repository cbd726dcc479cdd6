import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { ManualClock } from '../../src/testing.js';
import { TaskTimeoutError, WorkerCrashedError } from '../../src/index.js';
import { Gate, outcome, taskPool } from '../helpers/index.js';

test('timeoutMs: a task that runs too long rejects with TaskTimeoutError and its worker is replaced', async () => {
  const pool = taskPool({ size: 1, timeoutMs: 50 });
  try {
    await pool.start();
    const r = await outcome(pool.run('spin', undefined));
    assert.ok(!r.ok && r.error instanceof TaskTimeoutError);
    assert.equal(r.error.code, 'ERR_SLUICE_TASK_TIMEOUT');
    assert.match(r.error.message, /task "spin" ran longer than 50 ms/);
    const ctx = await pool.run('context', null);
    assert.equal(ctx.workerId, 2, 'a new worker took over');
    assert.equal(pool.stats().size, 1);
  } finally {
    await pool.close();
  }
});

test('timeoutMs counts running time only, not time in the queue (injected clock)', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, clock });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 'first' });
    const second = pool.run('inc', 1, { timeoutMs: 100 });
    await gate.waitStarted(1);
    clock.advance(1000); // second waits far longer than its timeout while queued
    gate.release();
    assert.equal(await first, 'first');
    assert.equal(await second, 2, 'queue time did not count against timeoutMs');
  } finally {
    await pool.close();
  }
});

test('timeoutMs of a pipelined task does not count while it waits in the worker inbox', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  // pipeline 2: the second task is sent to the busy worker and waits in its inbox.
  const pool = taskPool({ size: 1, pipeline: 2, clock });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 'first' });
    const second = pool.run('inc', 1, { timeoutMs: 100 });
    await gate.waitStarted(1);
    await new Promise((r) => setImmediate(r));
    clock.advance(500);
    clock.advance(500);
    gate.release();
    assert.equal(await first, 'first');
    assert.equal(await second, 2);
  } finally {
    await pool.close();
  }
});

test('deadlineMs counts from submission, queue time included (injected clock)', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, clock });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 1 });
    const late = outcome(pool.run('inc', 1, { deadlineMs: 100 }));
    await gate.waitStarted(1);
    clock.advance(100);
    const r = await late;
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'ERR_SLUICE_DEADLINE_EXCEEDED');
    assert.match(r.error.message, /missed its deadline of 100 ms while queued/);
    assert.equal(pool.stats().queued, 0);
    gate.release();
    assert.equal(await first, 1);
  } finally {
    await pool.close();
  }
});

test('aborting a queued task removes it and rejects with TaskAbortedError (reason as cause)', async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1 });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 1 });
    await gate.waitStarted(1);
    const ac = new AbortController();
    const queued = outcome(pool.run('inc', 1, { signal: ac.signal }));
    assert.equal(pool.stats().queued, 1);
    const reason = new Error('changed my mind');
    ac.abort(reason);
    const r = await queued;
    assert.ok(!r.ok && r.error.code === 'ERR_SLUICE_TASK_ABORTED');
    assert.equal(r.error.cause, reason);
    assert.equal(pool.stats().queued, 0);
    gate.release();
    assert.equal(await first, 1);
  } finally {
    await pool.close();
  }
});

test('an already-aborted signal rejects at once', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const r = await outcome(pool.run('inc', 1, { signal: AbortSignal.abort('early') }));
    assert.ok(!r.ok && r.error.code === 'ERR_SLUICE_TASK_ABORTED');
    assert.equal(r.error.cause, 'early');
  } finally {
    await pool.close();
  }
});

test('aborting a running task aborts ctx.signal in the worker; the worker stays when the task stops', async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 1 });
  try {
    const ac = new AbortController();
    const running = outcome(pool.run('gate', { flag: gate.flag }, { signal: ac.signal }));
    await gate.waitStarted(1);
    ac.abort();
    const r = await running;
    assert.ok(!r.ok && r.error.code === 'ERR_SLUICE_TASK_ABORTED');
    const ctx = await pool.run('context', null);
    assert.equal(ctx.workerId, 1, 'the task honoured its signal, so the worker was kept');
  } finally {
    await pool.close();
  }
});

test('a running task that ignores its signal is terminated with its worker after the grace', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const pool = taskPool({ size: 1, abortGraceMs: 200, clock });
  try {
    const ac = new AbortController();
    const running = outcome(pool.run('gate', { flag: gate.flag, ignoreAbort: true }, { signal: ac.signal }));
    await gate.waitStarted(1);
    ac.abort();
    const r = await running;
    assert.ok(!r.ok && r.error.code === 'ERR_SLUICE_TASK_ABORTED', 'the caller hears at once');
    assert.equal(pool.stats().size, 1);
    clock.advance(200);
    const ctx = await pool.run('context', null);
    assert.equal(ctx.workerId, 2, 'the worker was replaced after the grace');
  } finally {
    await pool.close();
  }
});

test('abort listeners are removed when tasks settle (no leak on a long-lived signal)', async () => {
  const pool = taskPool({ size: 2 });
  try {
    const ac = new AbortController();
    const all = Promise.all(Array.from({ length: 500 }, (_, i) => pool.run('inc', i, { signal: ac.signal })));
    assert.equal(EventEmitter.getEventListeners(ac.signal, 'abort').length, 1, 'one listener per signal, not per task');
    await all;
    assert.equal(EventEmitter.getEventListeners(ac.signal, 'abort').length, 0);
    await assert.rejects(pool.run('fail', 'error', { signal: ac.signal }));
    assert.equal(EventEmitter.getEventListeners(ac.signal, 'abort').length, 0);
  } finally {
    await pool.close();
  }
});

test('tasks running beside one that would not stop are not blamed when its worker is stopped: WorkerCrashedError, reason "stopped", saying why', async () => {
  const clock = new ManualClock();
  const beside = new Gate();
  const stuck = new Gate();
  const pool = taskPool({ size: 1, pipeline: 4, abortGraceMs: 200, clock });
  try {
    await pool.start();
    const innocent = [outcome(pool.run('gate', { flag: beside.flag })), outcome(pool.run('gate', { flag: beside.flag }))];
    const ac = new AbortController();
    const culprit = outcome(pool.run('gate', { flag: stuck.flag, ignoreAbort: true }, { signal: ac.signal }));
    await beside.waitStarted(2);
    await stuck.waitStarted(1);
    ac.abort();
    const c = await culprit;
    assert.ok(!c.ok && c.error.code === 'ERR_SLUICE_TASK_ABORTED', 'the task that would not stop has its own error');
    clock.advance(200);
    for (const r of await Promise.all(innocent)) {
      assert.ok(!r.ok && r.error instanceof WorkerCrashedError, 'it was running: it cannot be requeued as if never started');
      assert.equal(r.error.reason, 'stopped');
      assert.match(r.error.message, /^worker 1 was stopped because a cancelled task on it did not stop within abortGraceMs while running "gate"$/);
    }
  } finally {
    await pool.close();
  }
});
