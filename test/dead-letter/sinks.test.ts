/** The dead-letter sinks (memory, file, callback), alone and in a pool. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DeadLetter } from '../../src/index.js';
import { FileSink, MemorySink } from '../../src/dead-letter/sinks.js';
import { createPool } from '../../src/index.js';
import { taskPool } from '../helpers/index.js';

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

for (const kind of ['async', 'thread'] as const) {
  test(`a dead letter keeps a Buffer input a Buffer (its own copy), so a redrive sends the task what it was given (${kind})`, async () => {
    const buf = Buffer.from('hello');
    const pool = kind === 'async' ? createPool({ kind, size: 1, tasks: { refuse: (_: unknown): never => { throw new Error('refused'); } } }) : taskPool({ size: 1 });
    try {
      await assert.rejects(pool.run('refuse', { body: buf, parts: [buf] }));
      const e = pool.deadLetters().at(-1) as DeadLetter;
      const copy = e.input as { body: Buffer; parts: Buffer[] };
      assert.ok(Buffer.isBuffer(copy.body), 'a Buffer, not a Uint8Array');
      assert.equal(copy.body.toString(), 'hello');
      assert.equal(copy.parts[0], copy.body, 'one Buffer reached twice stays one');
      assert.notEqual(copy.body.buffer, buf.buffer, 'a copy: the caller may reuse its Buffer');
    } finally {
      await pool.close();
    }
  });
}
