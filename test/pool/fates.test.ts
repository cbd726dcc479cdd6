/**
 * Live pools, per kind, for the cases where speed used to change a task's
 * outcome (docs/ARCHITECTURE.md, "A task's fate is its own"). Handshakes and
 * events, never sleeps: a timeout or start-up limit below is the thing under
 * test, not a wait that proves it.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { createPool, ErrorCodes, ModuleLoadError, PoolFailedError, QueueFullError, type Pool } from '../../src/index.js';
import * as fates from '../fixtures/pool-fates.js';
import { outcome } from '../helpers/index.js';

type M = typeof fates;
const FATES = new URL('../fixtures/pool-fates.js', import.meta.url);
const WORKER_KINDS = ['thread', 'process'] as const;

function codes(results: { ok: boolean; error?: { code?: string } }[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of results) {
    const k = r.ok ? 'ok' : (r.error?.code ?? 'uncoded');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

for (const kind of WORKER_KINDS) {
  describe(`fates, kind ${kind}`, () => {
    test('1,000 tasks, every 20th calls process.exit(1): exactly the 50 that exited crash; the rest deliver (default pipeline)', { timeout: 120_000 }, async () => {
      const pool = createPool<M>({ module: FATES, kind, size: 2 });
      const results = await Promise.all(Array.from({ length: 1000 }, (_, n) => outcome(pool.run('maybeExit', { n, exit: n % 20 === 19 }))));
      const c = codes(results);
      assert.equal(c.get(ErrorCodes.WORKER_CRASHED), 50, `outcomes: ${JSON.stringify([...c])}`);
      assert.equal(c.get('ok'), 950, `outcomes: ${JSON.stringify([...c])}`);
      results.forEach((r, n) => {
        if (n % 20 === 19) assert.equal(r.ok, false);
        else assert.deepEqual(r, { ok: true, value: n });
      });
      assert.equal(pool.stats().state, 'running');
      await pool.close();
    });

    test('a hang blames only the hung task: batch-mates that finished deliver or get ResultLostError, unstarted ones run elsewhere', { timeout: 60_000 }, async () => {
      const pool = createPool<M>({ module: FATES, kind, size: 2, timeoutMs: 500, abortGraceMs: 100 });
      await pool.start();
      // Warm the task name so the runtime knows it is tiny and batches it without flushing.
      await Promise.all(Array.from({ length: 200 }, (_, n) => pool.run('maybeSpin', { n, spin: false })));
      const results = await Promise.all(Array.from({ length: 60 }, (_, n) => outcome(pool.run('maybeSpin', { n, spin: n === 30 }))));
      const c = codes(results);
      assert.equal(c.get(ErrorCodes.TASK_TIMEOUT), 1, `outcomes: ${JSON.stringify([...c])}`);
      assert.equal((results[30] as { error?: { code?: string } }).error?.code, ErrorCodes.TASK_TIMEOUT);
      for (const [n, r] of results.entries()) {
        if (n === 30) continue;
        // A task that finished before the hang either got its result out, or is told its result was lost; never blamed.
        if (!r.ok) assert.equal(r.error.code, ErrorCodes.RESULT_LOST, `task ${n}: ${r.error.message}`);
        else assert.equal(r.value, n);
      }
      await pool.close();
    });

    test('a timed-out task that honours its signal keeps its worker', { timeout: 30_000 }, async () => {
      const pool = createPool<M>({ module: FATES, kind, size: 1, timeoutMs: 200, abortGraceMs: 10_000 });
      const exits: unknown[] = [];
      const onExit = (m: unknown): void => void exits.push(m);
      subscribe('sluice:worker:exited', onExit);
      try {
        const first = await pool.run('whoAmI', null);
        const r = await outcome(pool.run('polite', null));
        assert.equal(r.ok, false);
        assert.equal((r as { error: { code?: string } }).error.code, ErrorCodes.TASK_TIMEOUT);
        assert.equal(await pool.run('whoAmI', null), first, 'the same worker runs the next task');
        assert.equal(exits.length, 0);
      } finally {
        unsubscribe('sluice:worker:exited', onExit);
        await pool.close();
      }
    });

    test('a module whose top level never finishes: start() and run() reject with ModuleLoadError after startTimeoutMs', { timeout: 30_000 }, async () => {
      const pool = createPool({ module: new URL('../fixtures/never-ready.js', import.meta.url), kind, size: 1, startTimeoutMs: 300 });
      const [start, run] = await Promise.all([outcome(pool.start()), outcome(pool.run('noop', null))]);
      for (const r of [start, run]) {
        assert.equal(r.ok, false);
        assert.ok((r as { error: Error }).error instanceof ModuleLoadError);
        assert.match((r as { error: Error }).error.message, /did not become ready within 300 ms/);
      }
      await pool.close();
    });

    test('an init() that never settles: the pool fails with ModuleLoadError after startTimeoutMs', { timeout: 30_000 }, async () => {
      const pool = createPool({ module: new URL('../fixtures/init-never.js', import.meta.url), kind, size: 1, startTimeoutMs: 300 });
      const r = await outcome(pool.run('noop', null));
      assert.ok(!r.ok && r.error instanceof ModuleLoadError, String(!r.ok && r.error.message));
      await pool.close();
    });

    test('a crash loop under load (workers exit 50 ms after loading, tasks keep coming) fails the pool too', { timeout: 60_000 }, async () => {
      const pool = createPool({ module: new URL('../fixtures/dies-after-load.js', import.meta.url), kind, size: 2 });
      await pool.start();
      let failed = false;
      pool.once('pool-failed', () => (failed = true));
      const outcomes: Promise<unknown>[] = [];
      // Work keeps coming, so each worker finishes tasks before its module's timer ends it: only the exit while running no task marks the loop.
      while (!failed) {
        for (let i = 0; i < 50; i++) outcomes.push(outcome(pool.run('noop', null)));
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(outcomes);
      const s = pool.stats();
      assert.equal(s.state, 'failed');
      assert.ok(s.supervision.restarts <= 12, `restarts: ${s.supervision.restarts}`);
      await pool.terminate();
    });

    test('a crash loop (workers exit 50 ms after loading) fails the pool within seconds, with few restarts', { timeout: 60_000 }, async () => {
      const pool = createPool({ module: new URL('../fixtures/dies-after-load.js', import.meta.url), kind, size: 2 });
      await pool.start();
      const failed = new Promise<unknown>((resolve) => pool.once('pool-failed', resolve));
      const t0 = Date.now();
      // An idle pool holds no reference on the event loop: this test's wait must.
      const keepAlive = setInterval(() => undefined, 1000);
      await failed;
      clearInterval(keepAlive);
      const took = Date.now() - t0;
      const s = pool.stats();
      assert.equal(s.state, 'failed');
      assert.ok(s.supervision.restarts <= 12, `restarts: ${s.supervision.restarts}`);
      const r = await outcome(pool.run('noop', null));
      assert.ok(!r.ok && r.error instanceof PoolFailedError);
      assert.match((r as { error: Error }).error.message, /in a row exited before finishing any task/);
      // Not a timing assertion that can flake on a loaded machine: a generous bound on "within seconds".
      assert.ok(took < 20_000, `took ${took} ms`);
      await pool.terminate();
    });
  });
}

describe('start-up: tasks submitted while workers start are assigned to them', () => {
  for (const kind of ['thread', 'process', 'async'] as const) {
    test(`kind ${kind}: size 1, capacity 3 accepts 4 tasks on a fresh pool; drop-oldest drops nothing`, { timeout: 30_000 }, async () => {
      for (const overflow of ['reject', 'drop-oldest'] as const) {
        const queue = { capacity: 3, overflow };
        const pool: Pool<{ whoAmI: typeof fates.whoAmI }> =
          kind === 'async' ? createPool({ kind, tasks: { whoAmI: fates.whoAmI }, size: 1, queue }) : createPool<M>({ kind, module: FATES, size: 1, queue });
        const results = await Promise.all(Array.from({ length: 4 }, () => outcome(pool.run('whoAmI', null))));
        assert.deepEqual(
          results.map((r) => r.ok),
          [true, true, true, true],
          `${overflow}: ${results.map((r) => (r.ok ? 'ok' : r.error.message)).join('; ')}`,
        );
        await pool.close();
      }
    });
  }

  test('kind async: a task submitted while a slot is free starts inside run(), and may call run() itself', { timeout: 30_000 }, async () => {
    const order: string[] = [];
    const box = {} as { pool: Pool<{ outer: () => Promise<number>; inner: () => number }> };
    const tasks = {
      outer: (): Promise<number> => {
        order.push('outer started');
        return box.pool.run('inner', null).then((n) => n + 1);
      },
      inner: (): number => {
        order.push('inner started');
        return 41;
      },
    };
    const pool = (box.pool = createPool({ kind: 'async', size: 2, tasks }));
    await pool.start();
    const p = pool.run('outer', null);
    order.push('run() returned');
    assert.deepEqual(order, ['outer started', 'inner started', 'run() returned']);
    assert.equal(await p, 42);
    const s = pool.stats();
    assert.equal(s.completed, 2);
    assert.equal(s.running, 0);
    await pool.close();
  });

  test('a backlog grows a fresh dynamic pool toward max before its first worker is ready', { timeout: 30_000 }, async () => {
    const pool = createPool<M>({ module: FATES, size: { min: 1, max: 3 } });
    const flag = new SharedArrayBuffer(8);
    const runs = Array.from({ length: 3 }, () => pool.run('hold', { flag }));
    assert.equal(pool.stats().size, 3, 'three workers on their way at once');
    const a = new Int32Array(flag);
    while (Atomics.load(a, 0) < 3) await Atomics.waitAsync(a, 0, Atomics.load(a, 0), 10_000).value;
    Atomics.store(a, 1, 1);
    await Promise.all(runs);
    await pool.close();
  });
});

describe('sizing', () => {
  test('recycle.maxTasks is exact: maxTasks 1 runs every task on a fresh worker', { timeout: 60_000 }, async () => {
    const pool = createPool<M>({ module: FATES, size: 1, supervision: { recycle: { maxTasks: 1 } } });
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push(await pool.run('whoAmI', null));
    assert.equal(new Set(ids).size, 4, `worker ids: ${ids.join(',')}`);
    await pool.close();
  });

  test('async: after resize(1), no new task starts while one is running, draining ones included', { timeout: 30_000 }, async () => {
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    const pool = createPool({
      kind: 'async',
      size: { min: 1, max: 3 },
      tasks: {
        work: () =>
          new Promise<void>((resolve) => {
            running++;
            most = Math.max(most, running);
            releases.push(() => {
              running--;
              resolve();
            });
          }),
      },
    });
    pool.resize(3);
    const first = Array.from({ length: 3 }, () => pool.run('work', null));
    while (releases.length < 3) await new Promise((r) => setImmediate(r));
    pool.resize(1);
    most = 0;
    const more = Array.from({ length: 3 }, () => pool.run('work', null));
    // The first three run on (two of them on draining workers): none of the new ones may start until all three are done.
    for (let i = 0; i < 3; i++) {
      (releases.shift() as () => void)();
      for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
      if (i < 2) assert.equal(releases.length, 2 - i, `a new task started while ${2 - i} of the first ones still ran`);
    }
    // From here on, one at a time.
    for (let done = 0; done < 3; done++) {
      while (releases.length === 0) await new Promise((r) => setImmediate(r));
      assert.equal(running, 1);
      (releases.shift() as () => void)();
    }
    await Promise.all([...first, ...more]);
    assert.equal(most, 1, 'after resize(1) no two tasks ran at once');
    await pool.close();
  });
});

describe('bounded waiting and sinks', () => {
  test("overflow 'wait' with queue.maxWaiting: past it run() rejects with QueueFullError", { timeout: 30_000 }, async () => {
    const flag = new SharedArrayBuffer(8);
    const pool = createPool<M>({ module: FATES, size: 1, pipeline: 1, queue: { capacity: 1, overflow: 'wait', maxWaiting: 2 } });
    await pool.start();
    const held = pool.run('hold', { flag }); // running
    const queued = pool.run('whoAmI', null); // in the queue
    const waiting = [pool.run('whoAmI', null), pool.run('whoAmI', null)];
    const refused = await outcome(pool.run('whoAmI', null));
    assert.ok(!refused.ok && refused.error instanceof QueueFullError, String(!refused.ok && refused.error.message));
    assert.equal(pool.stats().waiting, 2);
    Atomics.store(new Int32Array(flag), 1, 1);
    await Promise.all([held, queued, ...waiting]);
    await pool.close();
  });

  test('a dead-letter file on a full disk: the task keeps its own error, the entry stays in memory, the failure is published and counted', { timeout: 30_000 }, async () => {
    const events: unknown[] = [];
    const onErr = (m: unknown): void => void events.push(m);
    subscribe('sluice:deadletter:error', onErr);
    const pool = createPool<M>({ module: FATES, size: 1, deadLetter: { kind: 'file', path: '/dev/full' } });
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => outcome(pool.run('fail', `boom ${i}`))));
      for (const [i, r] of results.entries()) {
        assert.ok(!r.ok);
        assert.equal(r.error.message, `boom ${i}`);
      }
      assert.equal(pool.stats().deadLetterErrors, 20);
      assert.equal(pool.deadLetters().length, 20);
      assert.equal(events.length, 20);
    } finally {
      unsubscribe('sluice:deadletter:error', onErr);
      await pool.close();
    }
  });
});
