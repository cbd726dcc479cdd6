/**
 * The dashboard's sampler, ticked by hand on an async pool with a hand-set
 * wall clock: rates from counter deltas, the interval latency's cap, the
 * bounded rings, alarms from pool events, and no task data unless asked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { channels } from '../../src/observability/diagnostics.js';
import { createPool } from '../../src/index.js';
import { DashboardFeed, type FeedOptions } from '../../src/observability/dashboard/feed.js';

const tasks = {
  inc: (x: number) => x + 1,
  fail: (secret: string): never => {
    throw Object.assign(new Error('refused'), { code: 'E_REFUSED', secret });
  },
};

function asyncPool(deadLetter = true) {
  return createPool({ kind: 'async', tasks, size: 4, ...(deadLetter ? { deadLetter: { kind: 'memory' as const } } : {}) });
}

function feedOf(pool: ReturnType<typeof asyncPool>, clock: { t: number }, over: Partial<FeedOptions> = {}): DashboardFeed {
  return new DashboardFeed(pool, { intervalMs: 1000, historySize: 5, listSize: 3, latencyCap: 10, showData: false, job: undefined, now: () => clock.t, ...over });
}

test('throughput and failures per second come from the counters between two ticks', async (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  const clock = { t: 1_000_000 };
  const feed = feedOf(pool, clock);
  t.after(() => feed.close());
  await Promise.all(Array.from({ length: 40 }, (_, i) => pool.run('inc', i)));
  await Promise.all(Array.from({ length: 2 }, () => pool.run('fail', 'x').catch(() => undefined)));
  clock.t += 2000;
  const f = feed.tick();
  assert.equal(f.counters.completed, 40);
  assert.equal(f.counters.failed, 2);
  assert.equal(f.point.throughput, 20);
  assert.equal(f.point.failures, 1);
  clock.t += 1000;
  assert.equal(feed.tick().point.throughput, 0, 'nothing completed in the second interval');
});

test('the interval latency listens to at most latencyCap completions, then unsubscribes until the next tick', async (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  const clock = { t: 0 };
  const feed = feedOf(pool, clock, { latencyCap: 10 });
  t.after(() => feed.close());
  assert.equal(channels.taskCompleted.hasSubscribers, true);
  await Promise.all(Array.from({ length: 25 }, (_, i) => pool.run('inc', i)));
  assert.equal(channels.taskCompleted.hasSubscribers, false, 'past the cap the engine publishes no completion events');
  clock.t += 1000;
  const f = feed.tick();
  assert.notEqual(f.point.p50, null);
  assert.ok((f.point.p99 as number) >= (f.point.p50 as number));
  assert.equal(channels.taskCompleted.hasSubscribers, true, 'the next interval listens again');
  clock.t += 1000;
  assert.equal(feed.tick().point.p99, null, 'an interval without completions has no percentile');
  feed.close();
  assert.equal(channels.taskCompleted.hasSubscribers, false, 'close() detaches');
});

test('the history and the dead-letter list are rings: memory stays fixed', (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  const clock = { t: 0 };
  const feed = feedOf(pool, clock, { historySize: 5, listSize: 3 });
  t.after(() => feed.close());
  for (let i = 0; i < 12; i++) {
    clock.t += 1000;
    feed.tick();
  }
  const h = feed.history();
  assert.equal(h.length, 5);
  assert.deepEqual(
    h.map((p) => p.t),
    [8000, 9000, 10000, 11000, 12000],
  );
  for (let i = 0; i < 7; i++) feed.noteDeadLetter({ task: 'inc', line: i + 1, code: 'E', message: `m${i}` });
  const dl = feed.tick().deadLetters;
  assert.deepEqual(
    dl.map((d) => d.line),
    [5, 6, 7],
  );
});

test('dead letters show code, message and task, never the input, unless showData', async (t) => {
  for (const showData of [false, true]) {
    const pool = asyncPool();
    const clock = { t: 0 };
    const feed = feedOf(pool, clock, { showData });
    await pool.run('fail', 'TOP-SECRET').catch(() => undefined);
    feed.noteDeadLetter({ task: 'line-task', line: 7, code: 'E_LINE', message: 'bad line', input: { password: 'TOP-SECRET' } });
    clock.t += 1000;
    const f = feed.tick();
    feed.close();
    await pool.terminate();
    assert.equal(f.deadLetters.length, 2);
    const [fromPool, fromJob] = f.deadLetters;
    assert.equal(fromPool?.code, 'E_REFUSED');
    assert.equal(fromPool?.message, 'refused');
    assert.equal(fromPool?.task, 'fail');
    assert.equal(fromJob?.line, 7);
    const text = JSON.stringify(f);
    if (showData) {
      assert.equal(fromPool?.input, '"TOP-SECRET"');
      assert.equal(fromJob?.input, '{"password":"TOP-SECRET"}');
    } else {
      assert.ok(!text.includes('TOP-SECRET'), `a frame without showData carries no input: ${text}`);
    }
  }
  t.diagnostic('checked with and without showData');
});

test('alarms follow the pool events; the job progress gives an ETA', (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  const clock = { t: 0 };
  let done = 0;
  const feed = feedOf(pool, clock, { job: () => ({ done, total: 100, rate: 10, failed: 1 }) });
  t.after(() => feed.close());
  pool.emit('saturated', { queueDepth: 50, threshold: 8, sinceMs: 5000 });
  done = 40;
  clock.t += 2000;
  let f = feed.tick();
  assert.equal(f.alarms.saturated, true);
  assert.equal(f.events.at(-1)?.kind, 'saturated');
  assert.match(f.events.at(-1)?.text ?? '', /queue depth 50 above 8/);
  assert.deepEqual(f.job, { done: 40, total: 100, rate: 10, failed: 1, etaMs: 6000 });
  assert.equal(f.point.lineRate, 20);
  pool.emit('unsaturated', { queueDepth: 0, threshold: 8 });
  clock.t += 1000;
  f = feed.tick();
  assert.equal(f.alarms.saturated, false);
  assert.equal(f.events.length, 2);
});

test('the worker rows carry stats() and, after a diagnostics round, RSS and ELU', async (t) => {
  const pool = asyncPool();
  t.after(() => pool.terminate());
  await pool.start();
  const clock = { t: 0 };
  const feed = feedOf(pool, clock);
  t.after(() => feed.close());
  await Promise.all(Array.from({ length: 8 }, (_, i) => pool.run('inc', i)));
  feed.tick(); // asks for diagnostics
  await pool.diagnostics(); // a round trip after the feed's own request: its answer has arrived
  clock.t += 1000;
  const f = feed.tick();
  const stats = pool.stats();
  assert.deepEqual(
    f.workers.map((w) => [w.id, w.state, w.completed]),
    stats.workerList.map((w) => [w.id, w.state, w.completed]),
  );
  assert.ok(f.workers.length > 0);
  for (const w of f.workers) {
    assert.equal(w.reported, true);
    assert.ok((w.rss ?? 0) > 0);
    assert.ok(w.elu !== null && w.elu >= 0 && w.elu <= 1);
  }
});
