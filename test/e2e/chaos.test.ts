/**
 * Chaos: random worker exits, throws, hangs, OOMs and slow tasks, per kind.
 * At the end the books balance, no promise is pending, no worker thread or
 * process is left behind, and the pool works at full strength again.
 *
 * Seeded: SLUICE_SEED=<n> replays a run; the seed is in every failure
 * message. SLUICE_CHAOS_TASKS sets the length (`npm run chaos` runs a long one).
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createPool } from '../../src/index.js';
import type { Fate } from '../fixtures/chaos.js';
import { eventually, mulberry32 } from '../helpers/index.js';

// npm test replays one fixed run; the long run (SLUICE_CHAOS_TASKS set) draws a new seed unless given one.
const SEED = Number(process.env.SLUICE_SEED ?? (process.env.SLUICE_CHAOS_TASKS === undefined ? 20261128 : Date.now() % 100_000));
const TASKS = Number(process.env.SLUICE_CHAOS_TASKS ?? 160);
const CHAOS = new URL('../fixtures/chaos.js', import.meta.url);

/** Faults are rare enough that the run stays short: each hang costs a timeout, each process exit a respawn. */
function fateOf(r: number): Fate {
  if (r < 0.015) return 'exit';
  if (r < 0.025) return 'hang';
  if (r < 0.035) return 'oom';
  if (r < 0.12) return 'throw';
  if (r < 0.2) return 'slow';
  return 'ok';
}

function threadCount(): number | undefined {
  try {
    const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

for (const kind of ['thread', 'process'] as const) {
  test(`chaos, kind ${kind}: books balance, nothing pending, no orphans, full strength after (seed ${SEED})`, { timeout: 180_000 }, async () => {
    const rand = mulberry32(SEED + (kind === 'process' ? 1 : 0));
    const threadsBefore = threadCount();
    const pids = new Set<number>();
    const onSpawn = (m: unknown): void => {
      const pid = (m as { pid?: number }).pid;
      if (typeof pid === 'number') pids.add(pid);
    };
    subscribe('sluice:worker:spawned', onSpawn);
    const pool = createPool<typeof import('../fixtures/chaos.js')>({
      kind,
      module: CHAOS,
      size: 2,
      timeoutMs: 400, // stops the hangs (a synchronous loop can only be killed)
      resourceLimits: { maxOldGenerationSizeMb: 48 },
      // Every task is submitted at once: room for all of them to wait (the default maxWaiting, 1000, is less than a long run's).
      queue: { capacity: 32, overflow: 'wait', maxWaiting: TASKS },
    });
    try {
      const fates = Array.from({ length: TASKS }, () => fateOf(rand()));
      let pending = 0;
      const outcomes = await Promise.all(
        fates.map((fate, n) => {
          pending++;
          return pool.run('chaos', { n, fate }).then(
            (v) => {
              pending--;
              return { fate, ok: true as const, v, n };
            },
            (e: Error & { code?: string }) => {
              pending--;
              return { fate, ok: false as const, code: e.code ?? e.name, n };
            },
          );
        }),
      );
      assert.equal(pending, 0, `every promise settled (seed ${SEED})`);
      for (const o of outcomes) {
        if (o.fate === 'throw') assert.ok(!o.ok, `task ${o.n} threw (seed ${SEED})`);
        // A hang times out, unless a task started alongside it on the same worker timed out first and took the worker down.
        if (o.fate === 'hang') assert.ok(!o.ok && (o.code === 'ERR_SLUICE_TASK_TIMEOUT' || o.code === 'ERR_SLUICE_WORKER_CRASHED'), `task ${o.n} hung: ${o.ok ? 'ok' : o.code} (seed ${SEED})`);
        if (o.fate === 'exit') assert.equal(o.ok ? 'ok' : o.code, 'ERR_SLUICE_WORKER_CRASHED', `task ${o.n} exit (seed ${SEED})`);
        // Near its heap limit V8 collects garbage again and again before giving up: on a loaded machine that can outlast the time limit.
        if (o.fate === 'oom') assert.ok(!o.ok && (o.code === 'ERR_SLUICE_WORKER_CRASHED' || o.code === 'ERR_SLUICE_TASK_TIMEOUT'), `task ${o.n} oom: ${o.ok ? 'ok' : o.code} (seed ${SEED})`);
        if (o.ok) assert.equal(o.v, o.n);
        // A healthy task fails only if a crash or timeout on its worker took it down mid-run (its
        // promise had not settled: a hang sharing its worker's batch blocks the microtask it settles
        // in), or its result was lost with a worker killed after it finished (ResultLostError).
        if ((o.fate === 'ok' || o.fate === 'slow') && !o.ok) assert.ok(o.code === 'ERR_SLUICE_WORKER_CRASHED' || o.code === 'ERR_SLUICE_TASK_TIMEOUT' || o.code === 'ERR_SLUICE_RESULT_LOST', `task ${o.n}: ${o.code} (seed ${SEED})`);
      }
      const s = pool.stats();
      assert.equal(s.submitted, TASKS);
      assert.equal(s.submitted, s.completed + s.failed + s.rejected, `books balance (seed ${SEED})`);
      assert.equal(s.queued + s.waiting + s.running + s.backoff, 0, 'nothing pending');
      assert.equal(s.completed, outcomes.filter((o) => o.ok).length);

      // The faults stop: the pool is back at full strength and every task completes.
      const after = await Promise.all(Array.from({ length: 100 }, (_, n) => pool.run('chaos', { n, fate: 'ok' })));
      assert.deepEqual(after, Array.from({ length: 100 }, (_, n) => n));
      await eventually(() => pool.stats().size === 2 && pool.stats().workers.idle === 2, 'back to 2 ready workers');
    } finally {
      unsubscribe('sluice:worker:spawned', onSpawn);
      await pool.close();
    }
    assert.equal(pool.stats().size, 0);
    if (kind === 'process') {
      assert.ok(pids.size >= 2);
      await eventually(() => [...pids].every((pid) => !alive(pid)), `no child process left alive (pids ${[...pids].join(', ')})`);
    } else if (threadsBefore !== undefined) {
      await eventually(() => (threadCount() ?? 0) <= threadsBefore, `worker threads gone: ${threadCount()} threads now, ${threadsBefore} before`);
    }
  });
}
