import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../src/testing.js';
import type { DeadLetter, MapResult } from '../src/index.js';
import { FileSink, MemorySink } from '../src/dead-letter/sinks.js';
import { Gate, taskPool } from './helpers.js';

const entry = (taskId: number): DeadLetter => ({
  taskId,
  taskName: 't',
  input: { n: taskId },
  inputCloneable: true,
  reason: 'failed',
  error: { name: 'Error', code: undefined, message: 'x', stack: undefined },
  attempts: 1,
  correlationId: `c${taskId}`,
  submittedAt: 0,
  finishedAt: 1,
});

test('memory dead-letter sink is bounded: the oldest entries are evicted and counted', () => {
  const sink = new MemorySink(3);
  for (let i = 1; i <= 5; i++) sink.write(entry(i));
  assert.deepEqual(sink.list().map((e) => e.taskId), [3, 4, 5]);
  assert.equal(sink.evicted, 2);
  assert.deepEqual(sink.take((e) => e.taskId === 4).map((e) => e.taskId), [4]);
  assert.deepEqual(sink.list().map((e) => e.taskId), [3, 5]);
});

test('file dead-letter sink appends whole JSON lines, repairs a torn last line, and rewrites atomically on take', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dlq-'));
  const path = join(dir, 'dlq.jsonl');
  writeFileSync(path, `${JSON.stringify(entry(1))}\n`);
  appendFileSync(path, '{"taskId": 2, "taskName": "t", "inp'); // a crash mid-write
  const sink = new FileSink(path);
  sink.write(entry(3));
  sink.write({ ...entry(4), input: 10n }); // no JSON form: kept without its input
  assert.deepEqual(sink.list().map((e) => [e.taskId, e.inputCloneable]), [[1, true], [3, true], [4, false]]);
  assert.deepEqual(sink.take((e) => e.taskId === 3).map((e) => e.taskId), [3]);
  sink.write(entry(5));
  sink.close();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as DeadLetter).taskId), [1, 4, 5]);
});

test('a pool with a file dead-letter queue writes failures there and fsyncs on close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dlq-'));
  const path = join(dir, 'dead.jsonl');
  const pool = taskPool({ size: 1, deadLetter: { kind: 'file', path } });
  await assert.rejects(pool.run('fail', 'error', { correlationId: 'r-1' }));
  await pool.close();
  const [line] = readFileSync(path, 'utf8').trim().split('\n');
  const e = JSON.parse(line as string) as DeadLetter;
  assert.equal(e.taskName, 'fail');
  assert.equal(e.input, 'error');
  assert.equal(e.correlationId, 'r-1');
  assert.equal(e.error.code, 'E_BOOM');
});

test('a callback dead-letter sink receives each entry; deadLetter: false keeps none', async () => {
  const got: DeadLetter[] = [];
  const pool = taskPool({ size: 1, deadLetter: { kind: 'callback', onEntry: (e) => got.push(e) } });
  await assert.rejects(pool.run('fail', 'string'));
  assert.equal(got.length, 1);
  assert.equal(got[0]?.error.code, 'ERR_SLUICE_TASK_FAILED');
  assert.deepEqual(pool.deadLetters(), []);
  await pool.close();
  const off = taskPool({ size: 1, deadLetter: false });
  await assert.rejects(off.run('fail', 'string'));
  assert.equal(off.stats().deadLettered, 0);
  await off.close();
});

test('map: ordered results, lazy input with a bounded high-water mark', async () => {
  const pool = taskPool({ size: 2 });
  try {
    let pulled = 0;
    let consumed = 0;
    let highWater = 0;
    function* source(): Generator<number> {
      for (let i = 0; i < 20_000; i++) {
        pulled++;
        highWater = Math.max(highWater, pulled - consumed);
        yield i;
      }
    }
    let expected = 1;
    for await (const v of pool.map('inc', source(), { concurrency: 16 })) {
      assert.equal(v, expected++);
      consumed++;
    }
    assert.equal(consumed, 20_000);
    assert.ok(highWater <= 17, `at most concurrency (+ the one being read) outstanding, saw ${highWater}`);
  } finally {
    await pool.close();
  }
});

test('map over an async iterable, unordered, with errors yielded as results', async () => {
  const pool = taskPool({ size: 2 });
  try {
    async function* source(): AsyncGenerator<'error' | 'string'> {
      for (let i = 0; i < 10; i++) {
        await Promise.resolve();
        yield i % 3 === 0 ? 'error' : 'string';
      }
    }
    const results: MapResult<never>[] = [];
    for await (const r of pool.map('fail', source(), { ordered: false, errors: 'yield', concurrency: 4 })) results.push(r);
    assert.equal(results.length, 10);
    assert.deepEqual(results.map((r) => r.index).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(results.every((r) => !r.ok));
  } finally {
    await pool.close();
  }
});

test("map with errors: 'throw' stops at the first failure and stops reading the input", async () => {
  const pool = taskPool({ size: 2 });
  try {
    let pulled = 0;
    function* source(): Generator<{ a: number; b: number } | null> {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield i === 5 ? null : { a: i, b: 1 }; // null.a throws in the worker
      }
    }
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const v of pool.map('add', source() as Iterable<{ a: number; b: number }>, { concurrency: 4 })) seen.push(v);
    });
    assert.ok(pulled < 20, `stopped reading (${pulled} pulled)`);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  } finally {
    await pool.close();
  }
});

test('map: breaking out early closes the source and the signal stops the map', async () => {
  const pool = taskPool({ size: 2 });
  try {
    let closed = false;
    function* source(): Generator<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const v of pool.map('inc', source())) if (v === 10) break;
    assert.equal(closed, true);
    const ac = new AbortController();
    ac.abort('stop');
    await assert.rejects(async () => {
      for await (const _ of pool.map('inc', [1, 2, 3], { signal: ac.signal })) void _;
    }, { code: 'ERR_SLUICE_TASK_ABORTED' });
    await assert.rejects(async () => {
      for await (const _ of pool.map('inc', [1], { concurrency: 0 })) void _;
    }, { code: 'ERR_SLUICE_INVALID_OPTION', message: 'concurrency must be a positive integer, got 0 (number)' });
  } finally {
    await pool.close();
  }
});

test('saturated fires when queue depth stays above 2 × max size for afterMs, unsaturated when it drops; stats().window reports it', async () => {
  const clock = new ManualClock();
  const gate = new Gate();
  const pool = taskPool({ size: 1, pipeline: 1, clock, saturation: { sampleMs: 100, windowMs: 1000, afterMs: 300 } });
  const events: string[] = [];
  pool.on('saturated', (p: { queueDepth: number }) => events.push(`saturated:${p.queueDepth}`));
  pool.on('unsaturated', () => events.push('unsaturated'));
  try {
    const first = pool.run('gate', { flag: gate.flag, value: 0 });
    await gate.waitStarted(1);
    const queued = [1, 2, 3].map((n) => pool.run('inc', n)); // depth 3 > 2 × 1
    clock.advance(300);
    assert.deepEqual(events, [], 'above the threshold for less than afterMs');
    clock.advance(100);
    assert.deepEqual(events, ['saturated:3']);
    const w = pool.stats().window;
    assert.equal(w.queueDepth.max, 3);
    assert.equal(w.utilization, 1);
    assert.equal(w.spanMs, 400);
    gate.release();
    await Promise.all([first, ...queued]);
    clock.advance(100);
    assert.deepEqual(events, ['saturated:3', 'unsaturated']);
    assert.ok(pool.stats().window.queueDepth.avg < 3);
  } finally {
    await pool.close();
  }
});
