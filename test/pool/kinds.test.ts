/**
 * One behaviour suite, run against every kind: thread, process and async.
 * For 'async' the fixture's exports are passed as `tasks`. Handshakes go
 * through a Unix socket (test/helpers/handshake.ts) because processes share
 * no memory; timing never decides a result.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPool,
  InvalidOptionError,
  mapShared,
  Pool,
  PoolClosedError,
  SerializationError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownTaskError,
  WorkerCrashedError,
  type PoolKind,
} from '../../src/index.js';
import * as fixture from '../fixtures/kinds.js';
import { Handshake } from '../helpers/handshake.js';

type M = typeof fixture;
const FIXTURE = new URL('../fixtures/kinds.js', import.meta.url);
const KINDS: readonly PoolKind[] = ['thread', 'process', 'async'];

interface Extra {
  size?: number;
  timeoutMs?: number;
  abortGraceMs?: number;
  pipeline?: number;
  queue?: { capacity?: number; overflow?: 'reject' | 'wait' };
}

function make(kind: PoolKind, extra: Extra = {}): Pool<M> {
  if (kind === 'async') return createPool({ kind, tasks: fixture, size: 1, ...extra });
  return createPool<M>({ kind, module: FIXTURE, size: 1, ...extra });
}

const hs = await Handshake.open();
after(() => hs.close());

for (const kind of KINDS) {
  describe(`kind: ${kind}`, () => {
    test('settles each task with its own output', async () => {
      await using pool = make(kind, { size: 2 });
      const outs = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run('inc', i)));
      assert.deepEqual(outs, Array.from({ length: 200 }, (_, i) => i + 1));
      const m = new Map<string, unknown>([['k', [1n, new Uint8Array([1, 2])]]]);
      assert.deepEqual(await pool.run('echoAsync', m), m);
      const s = pool.stats();
      assert.equal(s.completed, 201);
      assert.equal(s.running, 0);
    });

    test('errors round-trip: class name, own properties, cause, non-Error throws', async () => {
      await using pool = make(kind);
      const custom = await pool.run('fail', 'custom').catch((e: unknown) => e);
      assert.ok(custom instanceof Error);
      assert.equal(custom.name, 'NotFoundError');
      assert.equal((custom as fixture.NotFoundError).key, 'k1');
      assert.equal((custom as fixture.NotFoundError).code, 'E_NOT_FOUND');
      // In-process, the error is the task's own object.
      if (kind === 'async') assert.ok(custom instanceof fixture.NotFoundError);
      await assert.rejects(pool.run('fail', 'string'), TaskFailedError);
      const caused = await pool.run('fail', 'cause').catch((e: unknown) => e as Error);
      assert.equal((caused.cause as Error).message, 'inner');
      assert.equal(pool.stats().failed, 3);
    });

    test('a timed-out task rejects with TaskTimeoutError, its signal aborts, and the pool carries on', async () => {
      await using pool = make(kind, { abortGraceMs: 20 });
      await assert.rejects(pool.run('hold', { socket: hs.socket }, { timeoutMs: 30 }), TaskTimeoutError);
      // A task that ignores its signal: killed (thread, process) or abandoned after the grace (async).
      await assert.rejects(pool.run('hold', { socket: hs.socket, ignoreAbort: true }, { timeoutMs: 30 }), TaskTimeoutError);
      assert.equal(await pool.run('inc', 1), 2);
    });

    test('cancellation: a queued task leaves the queue, a running one sees its signal', async () => {
      await using pool = make(kind);
      const running = new AbortController();
      const local = await Handshake.open();
      try {
        const first = pool.run('hold', { socket: local.socket }, { signal: running.signal });
        await local.started(1);
        const queued = new AbortController();
        const second = pool.run('inc', 1, { signal: queued.signal });
        assert.equal(pool.stats().queued, 1);
        queued.abort(new Error('changed my mind'));
        await assert.rejects(second, TaskAbortedError);
        assert.equal(pool.stats().queued, 0);
        running.abort();
        await assert.rejects(first, TaskAbortedError);
        assert.equal(await pool.run('inc', 2), 3);
      } finally {
        await local.close();
      }
    });

    test('close drains queued and running work, refuses new work, then stops', async () => {
      const pool = make(kind);
      const local = await Handshake.open();
      try {
        const first = pool.run('hold', { socket: local.socket, value: 'a' });
        const second = pool.run('inc', 41);
        await local.started(1);
        const closed = pool.close();
        await assert.rejects(pool.run('inc', 1), PoolClosedError);
        assert.equal(pool.stats().state, 'closing');
        local.release();
        assert.equal(await first, 'a');
        assert.equal(await second, 42);
        await closed;
        assert.equal(pool.stats().state, 'closed');
        assert.equal(pool.stats().size, 0);
      } finally {
        await local.close();
      }
    });

    test('terminate rejects running and queued work with PoolClosedError', async () => {
      const pool = make(kind);
      const local = await Handshake.open();
      try {
        const first = pool.run('hold', { socket: local.socket });
        const second = pool.run('inc', 1);
        await local.started(1);
        const settled = Promise.all([assert.rejects(first, PoolClosedError), assert.rejects(second, PoolClosedError)]);
        await pool.terminate();
        await settled;
        assert.equal(pool.stats().size, 0);
      } finally {
        await local.close();
      }
    });

    test('bad input: unknown task, bad run options, input that cannot cross', async () => {
      await using pool = make(kind);
      await pool.start();
      await assert.rejects(pool.run('nope' as 'inc', 1), UnknownTaskError);
      await assert.rejects(pool.run('inc', 1, { timeoutMs: -1 }), InvalidOptionError);
      const fnInput = pool.run('echoAsync', { f: () => 1 });
      // In-process nothing is copied, so a function is a fine input.
      if (kind === 'async') assert.equal(typeof ((await fnInput) as { f: unknown }).f, 'function');
      else await assert.rejects(fnInput, SerializationError);
      assert.equal(await pool.run('inc', 1), 2);
    });

    test('a crashed worker rejects its task with WorkerCrashedError and is replaced', { skip: kind === 'async' && 'async tasks share this process: there is no worker to crash' }, async () => {
      await using pool = make(kind);
      const err = await pool.run('exit', 3).catch((e: unknown) => e as WorkerCrashedError);
      assert.ok(err instanceof WorkerCrashedError);
      assert.equal(err.exitCode, 3);
      assert.equal(err.reason, 'exit');
      assert.equal(await pool.run('inc', 1), 2);
    });

    test("a task sent ahead (auto pipeline) waits in the worker until the running async task is done", { skip: kind === 'async' && 'in-process workers run one task each: nothing is sent ahead' }, async () => {
      await using pool = make(kind);
      const local = await Handshake.open();
      try {
        const a = pool.run('hold', { socket: local.socket, value: 'a' });
        let bSettled = false;
        const b = pool.run('echoAsync', 'b').finally(() => (bSettled = true));
        await local.started(1);
        assert.equal(pool.stats().running, 2, 'b was sent ahead to the busy worker');
        // The worker answers diagnostics after every message before it, b's
        // batch included; had b run, its result would have come back first.
        await pool.diagnostics();
        assert.equal(bSettled, false, 'b ran next to a running task');
        local.release();
        assert.deepEqual(await Promise.all([a, b]), ['a', 'b']);
      } finally {
        await local.close();
      }
    });

    test('a task sent ahead can be cancelled while it waits in the worker', { skip: kind === 'async' && 'in-process workers run one task each: nothing is sent ahead' }, async () => {
      await using pool = make(kind);
      const local = await Handshake.open();
      try {
        const a = pool.run('hold', { socket: local.socket, value: 'a' });
        const cancel = new AbortController();
        const b = pool.run('echoAsync', 'b', { signal: cancel.signal });
        await local.started(1);
        await pool.diagnostics(); // b's batch has reached the worker and is held there
        assert.equal(pool.stats().running, 2);
        cancel.abort(new Error('changed my mind'));
        await assert.rejects(b, TaskAbortedError);
        local.release();
        assert.equal(await a, 'a');
        assert.equal(await pool.run('inc', 2), 3);
        const s = pool.stats();
        assert.equal(s.running, 0);
        assert.equal(s.completed, 2);
      } finally {
        await local.close();
      }
    });

    test('tasks sent to a worker that never started them are requeued when it dies', { skip: kind === 'async' && 'a synchronous loop would block this process' }, async () => {
      await using pool = make(kind, { pipeline: 2 });
      await pool.start();
      const stuck = pool.run('spin', undefined, { timeoutMs: 30 });
      await new Promise((r) => setImmediate(r)); // the spin goes out alone, in its own batch
      const behind = pool.run('inc', 1);
      await assert.rejects(stuck, TaskTimeoutError);
      assert.equal(await behind, 2);
    });
  });
}

describe('kind-specific', () => {
  test("'caller-runs' is refused for thread and process pools", () => {
    for (const kind of ['thread', 'process'] as const) {
      assert.throws(() => createPool({ kind, module: FIXTURE, queue: { overflow: 'caller-runs' } }), (e: unknown) => {
        assert.ok(e instanceof InvalidOptionError);
        assert.match(e.message, /queue\.overflow .*caller-runs/);
        return true;
      });
    }
  });

  test("'caller-runs' runs past the limit when the queue is full (async)", async () => {
    const local = await Handshake.open();
    try {
      await using pool = createPool({ kind: 'async', tasks: fixture, size: 1, queue: { capacity: 1, overflow: 'caller-runs' } });
      const a = pool.run('hold', { socket: local.socket, value: 'a' });
      await local.started(1);
      const b = pool.run('inc', 1); // queued
      const c = pool.run('hold', { socket: local.socket, value: 'c' }); // queue full: runs at once
      await local.started(2);
      assert.equal(pool.stats().running, 2);
      local.release();
      assert.deepEqual(await Promise.all([a, b, c]), ['a', 2, 'c']);
    } finally {
      await local.close();
    }
  });

  test('async options: tasks required, module and worker-only options refused', () => {
    assert.throws(() => createPool({ kind: 'async', tasks: {} }), /tasks must be an object with at least one function/);
    assert.throws(() => createPool({ kind: 'async', tasks: fixture, pipeline: 4 }), InvalidOptionError);
    // @ts-expect-error: tasks belong to kind 'async'
    assert.throws(() => createPool({ kind: 'thread', module: FIXTURE, tasks: fixture }), InvalidOptionError);
    assert.throws(() => createPool({ kind: 'process', module: FIXTURE, resourceLimits: { stackSizeMb: 4 } }), /resourceLimits\.stackSizeMb/);
  });

  test('process: a worker killed by a signal reports it', async () => {
    await using pool = make('process');
    const err = await pool.run('killSelf', 'SIGKILL').catch((e: unknown) => e as WorkerCrashedError);
    assert.ok(err instanceof WorkerCrashedError);
    assert.equal(err.reason, 'signal');
    assert.equal(err.signal, 'SIGKILL');
    assert.equal(await pool.run('inc', 1), 2);
  });

  test('process: a worker over its heap limit is reported as oom', async () => {
    await using pool = createPool<M>({ kind: 'process', module: FIXTURE, size: 1, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const err = await pool.run('allocate', undefined).catch((e: unknown) => e as WorkerCrashedError);
    assert.ok(err instanceof WorkerCrashedError);
    assert.equal(err.reason, 'oom');
  });

  test('async: the task types come from `tasks`', async () => {
    await using pool = createPool({ kind: 'async', tasks: { twice: (n: number) => Promise.resolve(n * 2) } });
    const n: number = await pool.run('twice', 21);
    assert.equal(n, 42);
    // @ts-expect-error: not a task of this pool
    await assert.rejects(pool.run('thrice', 1), UnknownTaskError);
  });
});

describe('mapShared', () => {
  for (const kind of KINDS) {
    test(`runs a task over each range, in place, and reports failed ranges (${kind})`, async () => {
      await using pool = make(kind, { size: 2 });
      const array = new Float64Array(new SharedArrayBuffer(8 * 10));
      array.forEach((_, i) => (array[i] = i));
      array[5] = -1; // doubled to -2 at the start of range [5, 10): that range throws
      const out = await mapShared(pool, 'doubleRange', array, { chunks: 2 });
      assert.deepEqual(out.ok, [{ start: 0, end: 5, value: 0 + 2 + 4 + 6 + 8 }]);
      assert.equal(out.failed.length, 1);
      assert.deepEqual([out.failed[0]?.start, out.failed[0]?.end], [5, 10]);
      assert.match((out.failed[0]?.error as Error).message, /bad value at 5/);
      // The ok range was written in place; the failed one too for shared memory, not for a process's copy.
      assert.deepEqual([...array.subarray(0, 5)], [0, 2, 4, 6, 8]);
      assert.equal(array[5], kind === 'process' ? -1 : -2);
    });
  }

  test("kind 'thread' refuses an array that is not on shared memory", async () => {
    await using pool = make('thread');
    await assert.rejects(mapShared(pool, 'doubleRange', new Float64Array(4)), InvalidOptionError);
  });
});
