/**
 * Values across the boundary, on every kind: each row of the table in
 * test/fixtures/values.ts (which docs/kinds.md prints, and the last test
 * compares) is sent into a task and made inside one and returned, and its
 * type and content compared on both sides. Then what `transfer` does on
 * each kind, and Buffers in progress reports, errors and workerData.
 */
import { describe as suite, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import { createPool, SerializationError, TaskFailedError, type Pool, type PoolKind } from '../../src/index.js';
import * as fixture from '../fixtures/values.js';
import { describe, VALUES, type Outcome } from '../fixtures/values.js';

type M = typeof fixture;
const FIXTURE = new URL('../fixtures/values.js', import.meta.url);
const KINDS: readonly PoolKind[] = ['thread', 'process', 'async'];

function make(kind: PoolKind, workerData?: unknown): Pool<M> {
  if (kind === 'async') return createPool({ kind, tasks: fixture, size: 1 });
  return createPool<M>({ kind, module: FIXTURE, size: 1, ...(workerData === undefined ? {} : { workerData }) });
}

/** The nearest built-in Error class of an error (a user's subclass of Error: Error). */
function builtinError(e: Error): string {
  for (let p = Object.getPrototypeOf(e) as { constructor: { name: string } } | null; p !== null; p = Object.getPrototypeOf(p) as typeof p) {
    const name = p.constructor.name;
    if ((globalThis as Record<string, unknown>)[name] === p.constructor) return name;
  }
  return 'Error';
}

/** What `describe` says of `v` once it crossed with this outcome (refused: nothing crosses). */
function expected(outcome: Exclude<Outcome, 'refused'>, v: unknown): string {
  switch (outcome) {
    case 'copy':
    case 'same object':
    case 'shared memory':
      return describe(v);
    case 'Uint8Array':
      return describe(v).replaceAll('Buffer[', 'Uint8Array[');
    case 'plain object':
    case 'dropped':
      return describe(Object.fromEntries(Object.entries(v as object)));
    case 'built-in Error': {
      const base = builtinError(v as Error);
      return `${base}(${base}: ${(v as Error).message}; )`;
    }
  }
}

for (const kind of KINDS) {
  suite(`kind: ${kind}`, () => {
    test('each value of the table crosses as docs/kinds.md says, into a task and out of one', async () => {
      await using pool = make(kind);
      for (const [row, r] of VALUES.entries()) {
        const outcome = r[kind];
        const samples = r.make();
        for (const [sample, v] of samples.entries()) {
          const what = `${r.value} (sample ${sample}: ${describe(v)}) on kind ${kind}`;
          if (outcome === 'refused') {
            await assert.rejects(pool.run('seen', v), SerializationError, `${what}: refused in`);
            await assert.rejects(pool.run('make', { row, sample }), SerializationError, `${what}: refused out`);
            continue;
          }
          const want = expected(outcome, v);
          assert.equal(await pool.run('seen', v), want, `${what}: in`);
          assert.equal(describe(await pool.run('make', { row, sample })), want, `${what}: out`);
          const back = await pool.run('echo', v);
          if (outcome === 'same object') assert.ok(Object.is(back, v), `${what}: the same object back`);
          else if (typeof v === 'object' && v !== null) assert.notEqual(back, v, `${what}: a copy back`);
          if (outcome === 'shared memory') {
            await pool.run('touch', v as SharedArrayBuffer);
            assert.equal(new Uint8Array(v as SharedArrayBuffer)[0], 0xff, `${what}: the task wrote into the caller's memory`);
          }
        }
      }
    });

    test('a Buffer is a Buffer in the task and to the caller: toString() says "hello"', async () => {
      await using pool = make(kind);
      const buf = await pool.run('echo', Buffer.from('hello'));
      assert.ok(Buffer.isBuffer(buf));
      assert.equal(buf.toString(), 'hello');
      const { body } = (await pool.run('echo', { body: Buffer.from('hi') })) as { body: Buffer };
      assert.equal(body.toString(), 'hi');
    });

    test('transfer: the caller\'s buffers are detached once the task has them (a copy plus a detach where nothing moves)', async () => {
      await using pool = make(kind);
      const bytes = new Uint8Array([1, 2, 3, 4]);
      assert.equal(await pool.run('seen', bytes, { transfer: [bytes.buffer] }), 'Uint8Array[01020304]');
      assert.equal(bytes.buffer.byteLength, 0, 'detached');
      // A Buffer given by transfer arrives as a Buffer, and is detached too (Buffer.alloc: not in Node's shared pool).
      const buf = Buffer.alloc(3, 7);
      assert.equal(await pool.run('seen', { buf }, { transfer: [buf.buffer] }), 'Object{buf:Buffer[070707]}');
      assert.equal(buf.buffer.byteLength, 0, 'the Buffer\'s memory is detached');
    });

    test('transfer: a list postMessage refuses (a duplicate) is refused with SerializationError, and nothing is detached', async () => {
      await using pool = make(kind);
      const ab = new ArrayBuffer(8);
      await assert.rejects(pool.run('seen', ab, { transfer: [ab, ab] }), SerializationError);
      assert.equal(ab.byteLength, 8);
      assert.equal(await pool.run('seen', 1), 'number(1)', 'the pool carries on');
    });

    test('ctx.transfer: the caller gets the bytes, and the task\'s own reference ends detached', async () => {
      await using pool = make(kind);
      const out = await pool.run('give', 4);
      assert.ok(out instanceof ArrayBuffer);
      assert.equal(Buffer.from(out).toString('hex'), '09090909');
      assert.equal(await pool.run('keptLength', undefined), 0);
    });

    test('Buffers in progress reports, in an error\'s own fields and in a thrown value arrive as Buffers', async () => {
      await using pool = make(kind);
      const reports: unknown[] = [];
      assert.equal(await pool.run('report', null, { onProgress: (v) => reports.push(v) }), 'done');
      assert.equal(describe(reports.at(-1)), 'Object{chunk:Buffer[70617274],list:[Buffer[78]]}');
      const err = (await pool.run('failWithBody', undefined).catch((e: unknown) => e)) as Error & { body: unknown; detail: { raw: unknown }; cause: { payload: unknown } };
      assert.equal(err.message, 'bad response');
      assert.equal(describe(err.body), 'Buffer[6f6f7073]');
      assert.equal(describe(err.detail.raw), 'Buffer[72]');
      assert.equal(describe(err.cause.payload), 'Buffer[70]');
      const thrown = await pool.run('throwBuffer', undefined).catch((e: unknown) => e);
      assert.ok(thrown instanceof TaskFailedError);
      assert.equal(describe(thrown.thrown), 'Buffer[7468726f776e]');
    });

    test('an error field that can only be sent as a description (a function and a BigInt beside a Buffer) arrives as that description, and the pool lives on', async () => {
      await using pool = make(kind);
      const err = (await pool.run('failWithUnsendable', undefined).catch((e: unknown) => e)) as Error & { info: unknown };
      assert.equal(err.message, 'odd field');
      assert.equal(typeof err.info, kind === 'async' ? 'object' : 'string');
      const thrown = await pool.run('throwUnsendable', undefined).catch((e: unknown) => e);
      assert.ok(thrown instanceof TaskFailedError);
      assert.equal(await pool.run('echo', 7), 7, 'the pool still runs tasks');
    });
  });
}

for (const kind of ['thread', 'process', 'async'] as const) {
  test(`kind: ${kind}: a task's transfer list goes with its own result only: another's bad list fails that task alone, and a running task keeps its buffers`, async () => {
    await using pool = kind === 'async' ? createPool({ kind, tasks: fixture, size: 4 }) : createPool<M>({ kind, module: FIXTURE, size: 1, pipeline: 8 });
    const [kept, a, bad, b] = await Promise.all([
      pool.run('keepWhileRunning', null),
      pool.run('echo', 1),
      pool.run('badTransfer', null).catch((e: unknown) => e),
      pool.run('echo', 2),
    ]);
    assert.equal(kept, 8, 'its buffer was not sent away with the results that went before its own');
    assert.deepEqual([a, b], [1, 2], 'the tasks beside the bad list succeed');
    assert.ok(bad instanceof SerializationError, `the task with the bad list fails: ${String(bad)}`);
  });
}

for (const kind of ['thread', 'process'] as const) {
  test(`kind: ${kind}: Buffers in workerData reach sluice.init as Buffers`, async () => {
    await using pool = make(kind, { key: Buffer.from('k'), list: [Buffer.from('l')] });
    assert.equal(await pool.run('workerData', undefined), 'Object{key:Buffer[6b],list:[Buffer[6c]]}');
  });
}

test('kind: process: a MessagePort cannot be transferred to a process (SerializationError), as nothing but bytes reaches one', async () => {
  await using pool = make('process');
  const { port1, port2 } = new MessageChannel();
  try {
    await assert.rejects(pool.run('seen', 1, { transfer: [port1] }), SerializationError);
  } finally {
    port1.close();
    port2.close();
  }
});

test('docs/kinds.md prints this table: "Values across the boundary"', () => {
  const text = readFileSync(new URL('../../../docs/kinds.md', import.meta.url), 'utf8');
  const start = text.indexOf('## Values across the boundary');
  assert.ok(start !== -1, 'docs/kinds.md has the section');
  const section = text.slice(start, text.indexOf('\n## ', start + 1));
  // The section's first table: its header, the separator, then one row per line.
  const lines = section.split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  assert.ok(first !== -1, 'the section has a table');
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  assert.deepEqual(rows, VALUES.map((r) => [r.value, r.thread, r.process, r.async]));
});
