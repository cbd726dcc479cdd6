/**
 * Under `pipeline: 'auto'` async tasks that mostly wait run side by side on
 * a worker, up to ASYNC_DEPTH (32), once the worker has seen such a task
 * finish; exclusive tasks (`sluice.exclusive`) never overlap another task,
 * whatever the pipeline. Threads and processes, one worker each, so a
 * worker's concurrency is the pool's. Handshakes (a Unix socket, or tasks
 * meeting each other in the worker) decide every result, never timing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { createPool, ModuleLoadError, TaskAbortedError, type Pool } from '../../src/index.js';
import { ASYNC_DEPTH } from '../../src/engine/pipeline.js';
import type * as Fixture from '../fixtures/waiting-tasks.js';
import { Handshake } from '../helpers/handshake.js';

type M = typeof Fixture;
const FIXTURE = new URL('../fixtures/waiting-tasks.js', import.meta.url);
const TIMEOUT = { timeout: 60_000 };

/** A handshake of the test's own: its count of started tasks starts at 0. */
async function handshake(t: TestContext): Promise<Handshake> {
  const hs = await Handshake.open();
  t.after(() => hs.close());
  return hs;
}

function make(kind: 'thread' | 'process', pipeline: number | 'auto' = 'auto'): Pool<M> {
  return createPool<M>({ kind, module: FIXTURE, size: 1, pipeline });
}

/**
 * Runs timer-waiting tasks until the worker has judged its tasks waiting
 * and the pool keeps ASYNC_DEPTH on it. The judgement reads the clock (a
 * 20 ms wait against a synchronous part of microseconds); what the tests
 * then check does not.
 */
async function warmUp(pool: Pool<M>): Promise<void> {
  for (let i = 0; i < 10 && pool.stats().workerList[0]?.depth !== ASYNC_DEPTH; i++) await pool.run('pause', 20);
  assert.equal(pool.stats().workerList[0]?.depth, ASYNC_DEPTH, 'the worker said its tasks wait');
}

for (const kind of ['thread', 'process'] as const) {
  describe(`kind: ${kind}`, () => {
    test('auto pipeline: tasks that wait run side by side on one worker (20 meet only if all 20 run at once)', TIMEOUT, async () => {
      await using pool = make(kind);
      await warmUp(pool);
      const peaks = await Promise.all(Array.from({ length: 20 }, () => pool.run('meet', 20)));
      assert.equal(Math.max(...peaks), 20);
    });

    test('auto pipeline: tasks that await and then compute are not judged waiting: the worker goes back to one at a time', TIMEOUT, async () => {
      await using pool = make(kind);
      await warmUp(pool);
      // Their synchronous part is tiny, as a waiting task's is; the worker's event loop is what says they compute.
      await Promise.all(Array.from({ length: 40 }, () => pool.run('pauseThenBurn', { pauseMs: 2, burnMs: 10 })));
      assert.notEqual(pool.stats().workerList[0]?.depth, ASYNC_DEPTH, 'the worker took back its verdict');
    });

    test(`auto pipeline: at most ${ASYNC_DEPTH} at once on a worker; the rest wait in the pool`, TIMEOUT, async (t) => {
      const hs = await handshake(t);
      await using pool = make(kind);
      await warmUp(pool);
      const all = Array.from({ length: ASYNC_DEPTH + 8 }, () => pool.run('held', hs.socket));
      await hs.started(ASYNC_DEPTH);
      // The pool's books: what the worker was sent, and what waits.
      const s = pool.stats();
      assert.equal(s.workerList[0]?.inflight, ASYNC_DEPTH);
      assert.equal(s.queued, 8);
      // The 8 start once the first ones finish: together if the worker still
      // judges its tasks waiting, one by one if a loaded machine made it take
      // that back. Each is let go as it starts, so either way ends.
      for (let n = ASYNC_DEPTH + 1; n <= ASYNC_DEPTH + 8; n++) {
        hs.release();
        await hs.started(n);
      }
      hs.release();
      assert.equal(Math.max(...(await Promise.all(all))), ASYNC_DEPTH);
    });

    test('auto pipeline: an exclusive task runs alone, even on a worker whose tasks wait', TIMEOUT, async (t) => {
      const hs = await handshake(t);
      await using pool = make(kind);
      await warmUp(pool);
      const all = Array.from({ length: 6 }, () => pool.run('alone', hs.socket));
      for (let i = 1; i <= 6; i++) {
        await hs.started(i);
        // Every message before this answer was handled: the others reached the worker and wait there.
        await pool.diagnostics();
        hs.release();
      }
      assert.deepEqual(await Promise.all(all), [1, 1, 1, 1, 1, 1]);
      assert.equal(await pool.run('overlaps', undefined), false);
    });

    test('pipeline: 4: exclusive tasks in one batch run one at a time, and nothing runs beside them', TIMEOUT, async () => {
      await using pool = make(kind, 4);
      // The same batch shape without the declaration overlaps: the check can fail.
      assert.ok(Math.max(...(await Promise.all(Array.from({ length: 8 }, () => pool.run('brief', undefined))))) > 1);
      // Some exclusive tasks get a Buffer input, which a thread's batch marks in the task's name field.
      const mixed = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 3 === 1 ? pool.run('aloneBrief', i % 2 === 0 ? Buffer.from('x') : undefined) : pool.run('brief', undefined))));
      assert.equal(mixed.length, 12);
      assert.equal(await pool.run('overlaps', undefined), false);
    });

    test('tasks held behind an exclusive task that kills its worker never started: they run on its replacement', TIMEOUT, async () => {
      await using pool = make(kind, 4);
      const crash = pool.run('aloneExit', undefined).then(
        () => 'resolved',
        (e: Error & { code?: string }) => e.code,
      );
      // One batch: the exclusive task first, three held behind it.
      const behind = Array.from({ length: 3 }, () => pool.run('brief', undefined));
      assert.equal(await crash, 'ERR_SLUICE_WORKER_CRASHED');
      // Had they started beside it, they would have failed with it.
      assert.equal((await Promise.all(behind)).length, 3);
      assert.equal(pool.stats().completed, 3);
    });

    if (kind === 'process') {
      test('tasks held behind an exclusive task never started: killed from outside (no last word), its worker fails only the exclusive task, and they run on its replacement', TIMEOUT, async (t) => {
        const hs = await handshake(t);
        await using pool = make(kind, 4);
        await pool.start();
        const crash = pool.run('alone', hs.socket).then(
          () => 'resolved',
          (e: Error & { code?: string }) => e.code,
        );
        // One batch: the exclusive task first, two held behind it.
        const behind = [pool.run('brief', undefined), pool.run('brief', undefined)];
        await hs.started(1);
        // Every message before this answer was handled: the two reached the worker and are held there.
        const pid = (await pool.diagnostics()).workers[0]?.pid;
        assert.ok(typeof pid === 'number');
        process.kill(pid, 'SIGKILL');
        assert.equal(await crash, 'ERR_SLUICE_WORKER_CRASHED');
        assert.equal((await Promise.all(behind)).length, 2, 'requeued, not failed with it: the start marker never named them');
      });
    }

    test('a task held behind a running exclusive task can be cancelled; the rest go on', TIMEOUT, async (t) => {
      const hs = await handshake(t);
      await using pool = make(kind, 4);
      const first = pool.run('alone', hs.socket);
      const cancel = new AbortController();
      const second = pool.run('alone', hs.socket, { signal: cancel.signal });
      const third = pool.run('brief', undefined);
      await hs.started(1);
      await pool.diagnostics();
      cancel.abort(new Error('changed my mind'));
      await assert.rejects(second, TaskAbortedError);
      hs.release();
      assert.equal(await first, 1);
      assert.equal(await third, 1);
      assert.equal(await pool.run('overlaps', undefined), false);
      assert.equal(pool.stats().completed, 3);
    });
  });
}

describe('sluice.exclusive is checked as the module loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-exclusive-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string, RegExp][] = [
    ["export const sluice = { exclusive: ['nope'] }; export function a() {}", /sluice\.exclusive names "nope", which is not a task of this module \(its tasks: a\)/],
    ["export const sluice = { exclusive: 'a' }; export function a() {}", /sluice\.exclusive must be true, false or an array of task names, got string/],
    ['export const sluice = { exclusiv: true }; export function a() {}', /unknown key "exclusiv" \(known: init, teardown, health, exclusive\)/],
  ];
  for (const [i, [source, message]] of cases.entries()) {
    test(`a bad declaration fails the pool with ModuleLoadError (${i + 1})`, async () => {
      const file = join(dir, `m${i}.mjs`);
      writeFileSync(file, source);
      await using pool = createPool({ module: file, size: 1 });
      const err = await pool.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ModuleLoadError, String(err));
      assert.match(err.message, message);
    });
  }
});
