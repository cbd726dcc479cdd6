/**
 * Pool controls on every kind: progress from inside a task, pause and
 * resume, idle()/empty() and their events, clear(), close({ cancelQueued }),
 * the start-rate limit (on a ManualClock), a lazy pool, and (processes)
 * worker niceness and CPU affinity. "Running now" goes through the
 * handshake socket; the rate limit's time is the injected clock's.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createPool, InvalidOptionError, Pool, PoolClosedError, TaskAbortedError, type PoolKind } from '../../src/index.js';
import { ManualClock } from '../../src/testing.js';
import * as fixture from '../fixtures/kinds.js';
import { Handshake } from '../helpers/handshake.js';

type M = typeof fixture;
const FIXTURE = new URL('../fixtures/kinds.js', import.meta.url);
const KINDS: readonly PoolKind[] = ['thread', 'process', 'async'];

function make(kind: PoolKind, extra: Record<string, unknown> = {}): Pool<M> {
  if (kind === 'async') return createPool({ kind, tasks: fixture, size: 1, ...extra });
  return createPool<M>({ kind, module: FIXTURE, size: 1, pipeline: 1, ...extra });
}

/** Whether `p` has settled by the time the event loop has gone round once (a not-yet check, never a proof of "done"). */
async function settledYet(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

for (const kind of KINDS) {
  describe(`controls, kind: ${kind}`, () => {
    test('progress: reports reach onProgress in order, the last one before the result', async () => {
      await using pool = make(kind);
      const seen: unknown[] = [];
      let resultAt = -1;
      const out = await pool.run('progressSteps', 5, { onProgress: (v) => seen.push(v) }).then((r) => {
        resultAt = seen.length;
        return r;
      });
      assert.equal(out, 5);
      assert.deepEqual(seen, [1, 2, 3, 4, 5].map((step) => ({ step })));
      assert.equal(resultAt, 5);
      // A tight loop coalesces: fewer reports than calls, increasing, ending with the last value.
      const loop: number[] = [];
      assert.equal(await pool.run('progressLoop', 10_000, { onProgress: (v) => loop.push(v as number) }), 10_000);
      assert.ok(loop.length >= 1 && loop.length < 10_000, `coalesced to ${loop.length} reports`);
      assert.deepEqual([...loop].sort((a, b) => a - b), loop);
      assert.equal(loop.at(-1), 10_000);
    });

    test('progress: an onProgress that throws is published and never fails the task', async () => {
      await using pool = make(kind);
      const published: { error: unknown; task: string }[] = [];
      const listener = (m: unknown): void => void published.push(m as { error: unknown; task: string });
      subscribe('sluice:task:progress-error', listener);
      try {
        const out = await pool.run('progressSteps', 2, {
          onProgress: () => {
            throw new Error('listener bug');
          },
        });
        assert.equal(out, 2);
        assert.equal(published.length, 2);
        assert.equal((published[0]?.error as Error).message, 'listener bug');
        assert.equal(published[0]?.task, 'progressSteps');
        await assert.rejects(pool.run('inc', 1, { onProgress: 42 as never }), (e: unknown) => e instanceof InvalidOptionError && /onProgress must be a function/.test(e.message));
      } finally {
        unsubscribe('sluice:task:progress-error', listener);
      }
    });

    test('pause: queued work stays queued while running work finishes; resume runs it', async () => {
      const hs = await Handshake.open();
      try {
        await using pool = make(kind);
        const held = pool.run('hold', { socket: hs.socket, value: 'held' });
        await hs.started(1);
        const later = [pool.run('inc', 1), pool.run('inc', 2), pool.run('inc', 3)];
        await pool.pause();
        assert.equal(pool.paused, true);
        assert.equal(pool.stats().state, 'paused');
        assert.equal(pool.stats().queued, 3);
        hs.release();
        assert.equal(await held, 'held');
        // Still paused: the worker is free, and nothing was started on it.
        assert.equal(await settledYet(Promise.race(later)), false);
        const s = pool.stats();
        assert.equal(s.queued, 3);
        assert.equal(s.running, 0);
        assert.equal(s.completed, 1);
        // Submitting while paused queues.
        const more = pool.run('inc', 4);
        assert.equal(pool.stats().queued, 4);
        pool.resume();
        assert.equal(pool.stats().state, 'running');
        assert.deepEqual(await Promise.all([...later, more]), [2, 3, 4, 5]);
      } finally {
        await hs.close();
      }
    });

    test("idle() and empty(), and the 'idle' and 'drain' events", async () => {
      const hs = await Handshake.open();
      try {
        await using pool = make(kind);
        await pool.idle(); // nothing to wait for
        await pool.empty();
        let idles = 0;
        let drains = 0;
        pool.on('idle', () => idles++);
        pool.on('drain', () => drains++);
        const held = pool.run('hold', { socket: hs.socket, value: 1 });
        await hs.started(1);
        const queued = [pool.run('inc', 1), pool.run('inc', 2)];
        const empty = pool.empty();
        const idle = pool.idle();
        assert.equal(await settledYet(empty), false);
        assert.equal(await settledYet(idle), false);
        hs.release();
        await empty;
        await idle;
        const s = pool.stats();
        assert.equal(s.queued + s.running, 0);
        assert.deepEqual(await Promise.all([held, ...queued]), [1, 2, 3]);
        assert.equal(idles, 1);
        assert.equal(drains, 1);
      } finally {
        await hs.close();
      }
    });

    test('clear(reason) rejects what has not started, with the reason as cause; running work goes on', async () => {
      const hs = await Handshake.open();
      try {
        await using pool = make(kind);
        const held = pool.run('hold', { socket: hs.socket, value: 'kept' });
        await hs.started(1);
        const queued = [pool.run('inc', 1), pool.run('inc', 2), pool.run('inc', 3)];
        const checks = queued.map((p) => assert.rejects(p, (e: unknown) => e instanceof TaskAbortedError && (e as Error).cause === 'not needed'));
        assert.equal(await pool.clear('not needed'), 3);
        await Promise.all(checks);
        assert.equal(pool.stats().queued, 0);
        hs.release();
        assert.equal(await held, 'kept');
        assert.equal(await pool.run('inc', 9), 10);
      } finally {
        await hs.close();
      }
    });

    test('close({ cancelQueued: true }) rejects queued work with PoolClosedError and lets running work finish', async () => {
      const hs = await Handshake.open();
      try {
        const pool = make(kind);
        const held = pool.run('hold', { socket: hs.socket, value: 'finished' });
        await hs.started(1);
        const queued = [pool.run('inc', 1), pool.run('inc', 2)];
        const checks = queued.map((p) => assert.rejects(p, PoolClosedError));
        const closed = pool.close({ cancelQueued: true });
        await Promise.all(checks);
        hs.release();
        assert.equal(await held, 'finished');
        await closed;
        await assert.rejects(pool.close({ cancelQueued: 'yes' as never }), InvalidOptionError);
      } finally {
        await hs.close();
      }
    });

    test('rateLimit: at most `tasks` starts in any `perMs` window, on the pool clock', async () => {
      const clock = new ManualClock();
      await using pool = make(kind, { size: 4, clock, rateLimit: { tasks: 2, perMs: 1000 } });
      const done: number[] = [];
      const runs = [1, 2, 3, 4, 5].map((i) => pool.run('inc', i).then((v) => done.push(v)));
      await Promise.all(runs.slice(0, 2));
      // Two workers may finish a pair in either order.
      assert.deepEqual([...done].sort((a, b) => a - b), [2, 3]);
      assert.equal(pool.stats().queued, 3);
      clock.advance(999);
      assert.equal(await settledYet(runs[2] as Promise<unknown>), false);
      assert.equal(pool.stats().queued, 3);
      clock.advance(1);
      await Promise.all(runs.slice(2, 4));
      assert.equal(pool.stats().queued, 1);
      clock.advance(1000);
      await Promise.all(runs);
      assert.deepEqual([...done].sort((a, b) => a - b), [2, 3, 4, 5, 6]);
    });

    test('rateLimit.perName: a name with a limit of its own waits for its token', async () => {
      const clock = new ManualClock();
      await using pool = make(kind, { size: 4, clock, rateLimit: { tasks: 100, perMs: 1000, perName: { echo: { tasks: 1, perMs: 1000 } } } });
      const first = pool.run('echo', 'a');
      const second = pool.run('echo', 'b');
      const third = pool.run('inc', 1);
      assert.equal(await first, 'a');
      // The second echo waits for its name's token, and the queue keeps its order behind it.
      assert.equal(await settledYet(second), false);
      assert.equal(await settledYet(third), false);
      assert.equal(pool.stats().queued, 2);
      clock.advance(1000);
      assert.equal(await second, 'b');
      assert.equal(await third, 2);
    });

    test('a lazy pool (size.min 0) starts no worker until the first task', async () => {
      await using pool = make(kind, { size: { min: 0, max: 2 } });
      assert.equal(pool.stats().size, 0);
      assert.deepEqual(pool.tasks, []);
      assert.equal(await pool.run('inc', 1), 2);
      assert.ok(pool.stats().size >= 1);
      assert.ok((pool.tasks as readonly string[]).includes('inc'));
    });
  });
}

describe('bad input for the controls', () => {
  test('rateLimit needs a positive rate, named in the error', () => {
    for (const [rateLimit, option] of [
      [{ tasks: 0, perMs: 1000 }, 'rateLimit.tasks'],
      [{ tasks: 1, perMs: -5 }, 'rateLimit.perMs'],
      [{ tasks: 1, perMs: Infinity }, 'rateLimit.perMs'],
      [{ tasks: 1, perMs: 10, every: 3 }, 'rateLimit.every'],
      [{ tasks: 1, perMs: 10, perName: { x: { tasks: 1.5, perMs: 10 } } }, 'rateLimit.perName.x.tasks'],
    ] as const) {
      assert.throws(
        () => createPool({ kind: 'async', tasks: fixture, rateLimit: rateLimit as never }),
        (e: unknown) => e instanceof InvalidOptionError && e.message.startsWith(`${option} must be`),
        JSON.stringify(rateLimit),
      );
    }
  });

  test("worker placement is for process workers, and names CPUs the process may use", () => {
    assert.throws(() => createPool({ kind: 'thread', module: FIXTURE, worker: { nice: 5 } } as never), (e: unknown) => e instanceof InvalidOptionError && /^worker must be absent for kind 'thread'/.test(e.message));
    assert.throws(() => createPool({ kind: 'process', module: FIXTURE, worker: { nice: 40 } }), (e: unknown) => e instanceof InvalidOptionError && /^worker\.nice must be an integer from 0 to 19/.test(e.message));
    assert.throws(() => createPool({ kind: 'process', module: FIXTURE, worker: { cpus: [4096] } }), (e: unknown) => e instanceof InvalidOptionError && /^worker\.cpus must be CPUs this process may use \(.*\), got 4096/.test(e.message));
  });
});

/** A process's niceness (field 19 of /proc/<pid>/stat) and allowed CPUs. */
function procOf(pid: number): { nice: number; cpus: string } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpus = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  return { nice: Number(fields[16]), cpus: cpus.trim() };
}

const linux = process.platform === 'linux';
describe('process workers: niceness and CPU affinity (Linux)', { skip: linux ? false : 'reads /proc' }, () => {
  test('worker.nice lowers the workers\' priority', async () => {
    await using pool = createPool<M>({ kind: 'process', module: FIXTURE, size: 1, worker: { nice: 7 } });
    const pid = await pool.run('pid', undefined);
    assert.equal(procOf(pid).nice, procOf(process.pid).nice + 7);
  });

  test("worker.cpus pins every worker; 'spread' gives each its own CPU", async (t) => {
    const allowed = procOf(process.pid).cpus;
    const cpus = allowed.split(',').flatMap((r) => {
      const [a, b] = r.split('-').map(Number) as [number, number | undefined];
      return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
    });
    const last = cpus.at(-1) as number;
    {
      await using pool = createPool<M>({ kind: 'process', module: FIXTURE, size: 1, worker: { cpus: [last] } });
      assert.equal(procOf(await pool.run('pid', undefined as never)).cpus, String(last));
    }
    if (cpus.length < 2) {
      t.diagnostic('one CPU: spread not checked');
      return;
    }
    await using pool = createPool<M>({ kind: 'process', module: FIXTURE, size: 2, worker: { cpus: 'spread' } });
    await pool.start();
    const d = await pool.diagnostics();
    const pinned = d.workers.map((w) => procOf(w.pid as number).cpus).sort();
    assert.deepEqual(pinned, [String(cpus[0]), String(cpus[1])].sort());
  });
});
