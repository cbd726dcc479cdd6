import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/testing.js';
import { InvalidOptionError, TaskDroppedError } from '../../src/index.js';
import { Gate, outcome, taskPool } from '../helpers/index.js';

/** The order `record` tasks ran in. */
function ranOrder(log: SharedArrayBuffer): number[] {
  const a = new Int32Array(log);
  return Array.from(a.subarray(1, 1 + Atomics.load(a, 0)));
}

/** Waits (on events, not time) until the pool's stats satisfy `ok`. */
async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setImmediate(r));
}

test('priorities: higher runs first, FIFO within a priority', async () => {
  const gate = new Gate();
  const log = new SharedArrayBuffer(4 * 64);
  const pool = taskPool({ size: 1, pipeline: 1 });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const plan: [number, number][] = [[1, 0], [2, 5], [3, 0], [4, 5], [5, -3], [6, 100], [7, 0]];
    const runs = plan.map(([tag, priority]) => pool.run('record', { log, tag }, { priority }));
    gate.release();
    await Promise.all([first, ...runs]);
    assert.deepEqual(ranOrder(log), [6, 2, 4, 1, 3, 7, 5]);
  } finally {
    await pool.close();
  }
});

test('aging: under continuous high-priority load a low-priority task runs within the stated bound (injected clock)', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const log = new SharedArrayBuffer(4 * 64);
  // everyMs 100, step 1: a priority-0 task is overtaken only by priority-5 tasks
  // submitted less than (5 - 0) × 100 / 1 = 500 ms after it.
  const pool = taskPool({ size: 1, pipeline: 1, clock, queue: { aging: { everyMs: 100, step: 1 } } });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const runs = [pool.run('record', { log, tag: 0 }, { priority: 0 })];
    for (let t = 1; t <= 8; t++) {
      clock.advance(100);
      runs.push(pool.run('record', { log, tag: t * 100 }, { priority: 5 }));
    }
    gate.release();
    await Promise.all([first, ...runs]);
    // High tasks submitted at 100..400 ms overtake; at 500 ms it is a tie, and the older task wins.
    assert.deepEqual(ranOrder(log), [100, 200, 300, 400, 0, 500, 600, 700, 800]);
  } finally {
    await pool.close();
  }
});

test('without aging, continuous high-priority load starves the low task until the highs are gone', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const log = new SharedArrayBuffer(4 * 64);
  const pool = taskPool({ size: 1, pipeline: 1, clock, queue: { aging: false } });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const runs = [pool.run('record', { log, tag: 0 }, { priority: 0 })];
    for (let t = 1; t <= 4; t++) {
      clock.advance(100_000);
      runs.push(pool.run('record', { log, tag: t }, { priority: 1 }));
    }
    gate.release();
    await Promise.all([first, ...runs]);
    assert.deepEqual(ranOrder(log), [1, 2, 3, 4, 0]);
  } finally {
    await pool.close();
  }
});

test("overflow 'drop-oldest': the longest-waiting task is dropped with TaskDroppedError into the dead-letter queue", async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, queue: { capacity: 2, overflow: 'drop-oldest' } });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const a = outcome(pool.run('inc', 1, { correlationId: 'a' }));
    const b = pool.run('inc', 2);
    const c = pool.run('inc', 3);
    const r = await a;
    assert.ok(!r.ok && r.error instanceof TaskDroppedError);
    assert.equal(r.error.code, 'ERR_SLUICE_TASK_DROPPED');
    const dlq = pool.deadLetters();
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]?.reason, 'dropped');
    assert.equal(dlq[0]?.correlationId, 'a');
    assert.equal(dlq[0]?.input, 1);
    assert.equal(dlq[0]?.attempts, 0);
    gate.release();
    assert.deepEqual(await Promise.all([first, b, c]), [0, 3, 4]);
    const s = pool.stats();
    assert.equal(s.dropped, 1);
    assert.equal(s.submitted, s.completed + s.failed + s.rejected);
  } finally {
    await pool.close();
  }
});

test("overflow 'drop-lowest-priority': the lowest priority goes, the incoming task included; the newest loses a tie", async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, queue: { capacity: 2, overflow: 'drop-lowest-priority' } });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const low = outcome(pool.run('inc', 1, { priority: -5 }));
    const mid = outcome(pool.run('inc', 2, { priority: 0 }));
    const high = outcome(pool.run('inc', 3, { priority: 5 })); // evicts `low`
    const lower = outcome(pool.run('inc', 4, { priority: -10 })); // lowest of all: itself dropped
    const tie = outcome(pool.run('inc', 5, { priority: 0 })); // ties with `mid`: the newcomer loses
    for (const r of [await low, await lower, await tie]) assert.ok(!r.ok && r.error instanceof TaskDroppedError);
    gate.release();
    const [m, h] = [await mid, await high];
    assert.ok(m.ok && m.value === 3 && h.ok && h.value === 4);
    assert.equal(await first, 0);
    assert.deepEqual(pool.deadLetters().map((d) => d.input), [1, 4, 5]);
  } finally {
    await pool.close();
  }
});

test('a custom overflow policy picks a built-in policy per task', async () => {
  const gate = new Gate();
  const seen: string[] = [];
  const pool = taskPool({
    size: 1,
    pipeline: 1,
    queue: {
      capacity: 1,
      overflow: (t) => {
        seen.push(`${t.name}:${t.queued}/${t.capacity}`);
        return t.priority > 0 ? 'drop-oldest' : 'reject';
      },
    },
  });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const queued = outcome(pool.run('inc', 1));
    const refused = await outcome(pool.run('inc', 2));
    assert.ok(!refused.ok && refused.error.code === 'ERR_SLUICE_QUEUE_FULL');
    const urgent = pool.run('inc', 3, { priority: 1 });
    const q = await queued;
    assert.ok(!q.ok && q.error instanceof TaskDroppedError);
    gate.release();
    assert.deepEqual(await Promise.all([first, urgent]), [0, 4]);
    assert.deepEqual(seen, ['inc:1/1', 'inc:1/1']);
  } finally {
    await pool.close();
  }
});

test('trySubmit answers synchronously, accepted or refused, and never throws', async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, queue: { capacity: 1, overflow: 'wait' } });
  try {
    const first = pool.trySubmit('gate', { flag: gate.flag, value: 0 });
    assert.ok(first.accepted);
    await gate.waitStarted(1);
    const second = pool.trySubmit('inc', 1);
    assert.ok(second.accepted);
    const third = pool.trySubmit('inc', 2);
    assert.ok(!third.accepted);
    assert.equal(third.reason, 'queue-full');
    assert.equal((third.error as Error & { code?: string }).code, 'ERR_SLUICE_QUEUE_FULL');
    assert.equal(pool.stats().waiting, 0, "a refused try does not wait, even with overflow 'wait'");
    gate.release();
    assert.deepEqual(await Promise.all([first.result, second.result]), [0, 2]);
  } finally {
    await pool.close();
  }
  const closed = pool.trySubmit('inc', 1);
  assert.ok(!closed.accepted && closed.reason === 'closed');
});

test('queueRetry keeps trying a full queue with backoff for a bounded time (injected clock)', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, clock, queue: { capacity: 1 } });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const queued = pool.run('inc', 1);
    const patient = pool.run('inc', 10, { queueRetry: { timeoutMs: 1000, baseMs: 10 } });
    const impatient = outcome(pool.run('inc', 20, { queueRetry: { timeoutMs: 30, baseMs: 10 } }));
    for (let i = 0; i < 5; i++) {
      clock.advance(10);
      await new Promise((r) => setImmediate(r));
    }
    const r = await impatient;
    assert.ok(!r.ok && r.error.code === 'ERR_SLUICE_QUEUE_FULL', 'gave up after its 30 ms');
    gate.release();
    await until(() => pool.stats().queued === 0);
    clock.advance(1000);
    assert.deepEqual(await Promise.all([first, queued, patient]), [0, 2, 11]);
  } finally {
    await pool.close();
  }
});

test('retries: a failing task is retried on the backoff schedule without holding a worker (injected clock)', async () => {
  const clock = new ManualClock();
  const pool = taskPool({ size: 1, clock, retry: { attempts: 4, backoff: 'exponential', baseMs: 100, jitter: 'none' } });
  try {
    const counter = new SharedArrayBuffer(4);
    const calls = () => Atomics.load(new Int32Array(counter), 0);
    const result = pool.run('flaky', { counter, failTimes: 2 });
    await until(() => pool.stats().backoff === 1);
    assert.equal(calls(), 1);
    assert.equal(pool.stats().running, 0, 'backoff holds no worker');
    assert.equal(await pool.run('inc', 1), 2, 'the worker is free for other work meanwhile');
    clock.advance(99);
    assert.equal(pool.stats().backoff, 1);
    clock.advance(1); // 100 ms: second attempt
    await until(() => calls() === 2 && pool.stats().backoff === 1);
    clock.advance(199);
    await new Promise((r) => setImmediate(r));
    assert.equal(calls(), 2);
    clock.advance(1); // 200 ms more: third attempt succeeds
    assert.equal(await result, 3);
    const s = pool.stats();
    assert.equal(s.retried, 2);
    assert.equal(s.completed, 2);
  } finally {
    await pool.close();
  }
});

test('the final error carries attempts and the earlier errors, and lands in the dead-letter queue', async () => {
  const clock = new ManualClock();
  const pool = taskPool({ size: 1, clock });
  try {
    const counter = new SharedArrayBuffer(4);
    const result = outcome(pool.run('flaky', { counter, failTimes: 10 }, { retry: { attempts: 3, baseMs: 10, jitter: 'none' }, correlationId: 'job-7' }));
    for (let i = 0; i < 2; i++) {
      await until(() => pool.stats().backoff === 1);
      clock.advance(1000);
    }
    const r = await result;
    assert.ok(!r.ok);
    const err = r.error as Error & { attempts: number; previousErrors: Error[] };
    assert.equal(err.message, 'attempt 3 failed');
    assert.equal(err.attempts, 3);
    assert.deepEqual(err.previousErrors.map((e) => e.message), ['attempt 1 failed', 'attempt 2 failed']);
    const [entry] = pool.deadLetters();
    assert.equal(entry?.reason, 'failed');
    assert.equal(entry?.attempts, 3);
    assert.equal(entry?.correlationId, 'job-7');
    assert.equal(entry?.error.message, 'attempt 3 failed');
    assert.match(entry?.error.stack ?? '', /flaky/);
  } finally {
    await pool.close();
  }
});

test('a cancelled task is never retried, and a timed-out one only when retryOn says so', async () => {
  const pool = taskPool({ size: 1, timeoutMs: 30, retry: { attempts: 3, baseMs: 0, jitter: 'none' } });
  try {
    const t = await outcome(pool.run('spin', undefined));
    assert.ok(!t.ok && t.error.code === 'ERR_SLUICE_TASK_TIMEOUT');
    assert.equal((t.error as Error & { attempts?: number }).attempts, 1, 'not retried');
    const ac = new AbortController();
    const gate = new Gate();
    const a = outcome(pool.run('gate', { flag: gate.flag }, { signal: ac.signal }));
    await gate.waitStarted(1);
    ac.abort();
    const ar = await a;
    assert.ok(!ar.ok && ar.error.code === 'ERR_SLUICE_TASK_ABORTED');
    assert.equal(pool.stats().retried, 0);
    assert.equal(pool.deadLetters().length, 1, 'the timeout is dead-lettered; the cancellation is not');
    const counted = await outcome(pool.run('spin', undefined, { retry: { attempts: 2, baseMs: 0, retryOn: (e) => (e as { code?: string }).code === 'ERR_SLUICE_TASK_TIMEOUT' } }));
    assert.ok(!counted.ok);
    assert.equal((counted.error as Error & { attempts?: number }).attempts, 2, 'retried once on request');
  } finally {
    await pool.close();
  }
});

test('a deadline passed while queued lands in the dead-letter queue', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, clock });
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const late = outcome(pool.run('add', { a: 1, b: 2 }, { deadlineMs: 50 }));
    clock.advance(50);
    assert.ok(!(await late).ok);
    const [entry] = pool.deadLetters();
    assert.equal(entry?.reason, 'deadline');
    assert.deepEqual(entry?.input, { a: 1, b: 2 });
    gate.release();
    await first;
  } finally {
    await pool.close();
  }
});

test('redrive resubmits dead letters and removes them from the queue', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const counter = new SharedArrayBuffer(4);
    await assert.rejects(pool.run('flaky', { counter, failTimes: 1 }));
    await assert.rejects(pool.run('fail', 'error'));
    assert.equal(pool.deadLetters().length, 2);
    const r = await pool.redrive((e) => e.taskName === 'flaky');
    assert.deepEqual(r, { redriven: 1, completed: 1, failed: 0 });
    assert.deepEqual(pool.deadLetters().map((e) => e.taskName), ['fail']);
    const again = await pool.redrive();
    assert.deepEqual(again, { redriven: 1, completed: 0, failed: 1 });
    assert.deepEqual(pool.deadLetters().map((e) => e.taskName), ['fail'], 'failed again: back in the queue');
  } finally {
    await pool.close();
  }
});

test('bad queueing input: coded InvalidOptionErrors naming the option', async () => {
  assert.throws(() => taskPool({ queue: { overflow: 'drop-newest' as 'reject' } }), (e: unknown) => e instanceof InvalidOptionError && /^queue\.overflow must be one of 'reject', 'wait', 'drop-oldest', 'drop-lowest-priority'/.test(e.message));
  assert.throws(() => taskPool({ retry: { attempts: -2 } }), /retry\.attempts must be a positive integer, got -2 \(number\)/);
  assert.throws(() => taskPool({ retry: { retryOn: 5 as unknown as () => boolean } }), /retry\.retryOn must be a function/);
  assert.throws(() => taskPool({ queue: { aging: { everyMs: 0 } } }), /queue\.aging\.everyMs must be a positive number of milliseconds, got 0/);
  assert.throws(() => taskPool({ deadLetter: { kind: 'disk' } as never }), /deadLetter\.kind must be one of 'memory', 'file', 'callback'/);
  const pool = taskPool({ size: 1 });
  try {
    await assert.rejects(pool.run('inc', 1, { priority: 1.5 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: 'priority must be an integer from -100 to 100, got 1.5 (number)' });
    await assert.rejects(pool.run('inc', 1, { priority: 1000 }), { message: /priority must be an integer from -100 to 100, got 1000/ });
    await assert.rejects(pool.run('inc', 1, { retry: { attempts: 0 } }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /retry\.attempts/ });
    const bad = createBadPolicyPool();
    try {
      const gate = new Gate();
      const first = bad.run('gate', { flag: gate.flag, value: 0 });
      await gate.waitStarted(1);
      const q = bad.run('inc', 1);
      await assert.rejects(bad.run('inc', 2), { code: 'ERR_SLUICE_INVALID_OPTION', message: /queue\.overflow\(\) result must be one of/ });
      gate.release();
      await Promise.all([first, q]);
    } finally {
      await bad.close();
    }
  } finally {
    await pool.close();
  }
});

function createBadPolicyPool() {
  return taskPool({ size: 1, pipeline: 1, queue: { capacity: 1, overflow: () => 'explode' as 'reject' } });
}
