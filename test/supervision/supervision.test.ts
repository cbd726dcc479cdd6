import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { createPool, CircuitOpenError, PoolFailedError, WorkerInitError, WorkerStalledError, type Pool } from '../../src/index.js';
import { ManualClock } from '../../src/testing.js';
import { RestartIntensity } from '../../src/supervision/restart-intensity.js';
import { CircuitBreaker } from '../../src/supervision/circuit-breaker.js';
import { LeakDetector } from '../../src/supervision/recycle.js';
import { isStalled, BeatWatch } from '../../src/supervision/heartbeat.js';
import type * as Supervised from '../fixtures/supervised.js';
import { eventually as until } from '../helpers/index.js';

const SUPERVISED = new URL('../fixtures/supervised.js', import.meta.url);
type M = typeof Supervised;

/** Lets pending I/O (worker messages) in: a handshake loop, not a timing decision. */
async function waitFlag(sab: SharedArrayBuffer, index: number): Promise<void> {
  const a = new Int32Array(sab);
  while (Atomics.load(a, index) === 0) await Atomics.waitAsync(a, index, 0, 10_000).value;
}

describe('supervision units', () => {
  test('restart intensity: more than maxRestarts within withinMs trips; old restarts fall out of the window', () => {
    const r = new RestartIntensity({ maxRestarts: 2, withinMs: 1000, backoffMs: 100, maxBackoffMs: 350, recoverAfterMs: 10, maxBarrenRestarts: 5 });
    assert.equal(r.record(0, 'a'), false);
    assert.equal(r.record(10, 'b'), false);
    assert.equal(r.record(1500, 'c'), false, 'the first two are out of the window');
    assert.equal(r.record(1600, 'd'), false);
    assert.equal(r.record(1700, 'e'), true);
    assert.deepEqual([r.nextProbeDelay(), r.nextProbeDelay(), r.nextProbeDelay(), r.nextProbeDelay()], [100, 200, 350, 350]);
    r.recovered();
    assert.equal(r.recent, 0);
  });

  test('restart intensity: barren restarts in a row trip however slowly they come; respawn delays grow; any other restart ends the streak', () => {
    const r = new RestartIntensity({ maxRestarts: 100, withinMs: 10_000, backoffMs: 1000, maxBackoffMs: 30_000, recoverAfterMs: 1000, maxBarrenRestarts: 3 });
    // One a minute: far below any rate, still a crash loop.
    assert.equal(r.record(0, 'a', true), false);
    assert.equal(r.respawnDelay(), 0, 'the first replacement starts at once');
    assert.equal(r.record(60_000, 'b', true), false);
    assert.equal(r.respawnDelay(), 25);
    assert.equal(r.record(120_000, 'c', true), false);
    assert.equal(r.respawnDelay(), 50);
    assert.equal(r.record(180_000, 'd', true), true, 'the fourth barren restart in a row trips');
    assert.equal(r.barren, 4);
    r.recovered();
    for (let i = 0; i < 3; i++) assert.equal(r.record(200_000 + i, 'e', true), false);
    assert.equal(r.record(300_000, 'f', false), false, 'a restart that was not barren ends the streak');
    assert.equal(r.respawnDelay(), 0);
    assert.equal(r.barren, 0);
    for (let i = 0; i < 3; i++) assert.equal(r.record(400_000 + i, 'g', true), false);
    assert.equal(r.record(400_010, 'h', true), true);
    const big = new RestartIntensity({ maxRestarts: 100, withinMs: 10_000, backoffMs: 1000, maxBackoffMs: 30_000, recoverAfterMs: 1000, maxBarrenRestarts: 100 });
    for (let i = 0; i < 12; i++) big.record(i, 'x', true);
    assert.equal(big.respawnDelay(), 1000, 'capped at backoffMs');
  });

  test('circuit breaker: opens at the threshold with minimum volume, half-opens after the cool-down, closes after good trials', () => {
    const b = new CircuitBreaker({ threshold: 0.5, minVolume: 4, windowCount: 10, windowMs: 0, coolDownMs: 1000, halfOpenTrials: 2, scope: 'task', onOpen: 'reject' });
    b.record(true, 0);
    b.record(true, 0);
    b.record(true, 0);
    assert.equal(b.state, 'closed', 'below the minimum volume');
    b.record(false, 0);
    b.record(true, 0);
    assert.equal(b.state, 'open');
    assert.equal(b.allow(999), false);
    assert.equal(b.allow(1000), true);
    assert.equal(b.state, 'half-open');
    assert.equal(b.allow(1000), true);
    assert.equal(b.allow(1000), false, 'only halfOpenTrials pass');
    b.record(false, 1000);
    b.record(false, 1000);
    assert.equal(b.state, 'closed');
  });

  test('circuit breaker: a failed trial reopens it; the time window forgets old outcomes', () => {
    const b = new CircuitBreaker({ threshold: 0.5, minVolume: 2, windowCount: 0, windowMs: 1000, coolDownMs: 100, halfOpenTrials: 1, scope: 'task', onOpen: 'reject' });
    b.record(true, 0);
    b.record(false, 5000);
    b.record(false, 5000);
    b.record(true, 5000);
    assert.equal(b.state, 'closed', 'the failure at t=0 is out of the window');
    b.record(true, 5001);
    assert.equal(b.state, 'open');
    assert.equal(b.allow(5101), true);
    b.record(true, 5101);
    assert.equal(b.state, 'open');
  });

  test('leak detector: rising low-water marks flag a leak; a sawtooth does not', () => {
    const leak = new LeakDetector();
    for (let i = 0; i < 40; i++) leak.add(10e6 + i * 1e6 + (i % 2) * 3e5);
    assert.equal(leak.leaking, true);
    const saw = new LeakDetector();
    for (let i = 0; i < 200; i++) saw.add(10e6 + (i % 7) * 2e6);
    assert.equal(saw.leaking, false);
  });

  test('heartbeat judgement: missed beats stall an undeclared worker; a declared blocking task gets stallMs more', () => {
    const w = new BeatWatch();
    assert.equal(w.observe(5, 0), 0);
    assert.equal(w.observe(5, 1000), 1);
    assert.equal(w.observe(6, 2000), 0);
    assert.equal(isStalled(2, 2000, 3, 1000, 0), false);
    assert.equal(isStalled(3, 3000, 3, 1000, 0), true);
    assert.equal(isStalled(3, 3000, 3, 1000, 10_000), false);
    assert.equal(isStalled(13, 13_000, 3, 1000, 10_000), true);
    assert.equal(isStalled(1000, 1e6, 3, 1000, Infinity), false);
  });
});

for (const kind of ['thread', 'process'] as const) {
  describe(`supervision, kind ${kind}`, () => {
    test('init gets workerData once per worker; teardown runs on close; the hooks export is not a task', { skip: false }, async () => {
      const sab = new SharedArrayBuffer(16);
      const pool = createPool<M>({ kind, module: SUPERVISED, size: 2, workerData: kind === 'thread' ? { sab, tag: 'hello' } : { tag: 'hello' } });
      try {
        await until(() => pool.stats().workers.idle === 2, 'both workers ready');
        const info = await pool.run('initInfo', undefined);
        assert.equal(info.tag, 'hello');
        assert.ok(!pool.tasks.includes('sluice'), 'the reserved export is not listed as a task');
      } finally {
        await pool.close();
      }
      if (kind === 'thread') {
        const a = new Int32Array(sab);
        assert.equal(Atomics.load(a, 0), 2, 'init ran once in each of 2 workers');
        assert.equal(Atomics.load(a, 1), 2, 'teardown ran in each worker on close');
      }
    });

    test('an initializer that throws fails the pool with WorkerInitError naming the cause', async () => {
      const pool = createPool<M>({ kind, module: SUPERVISED, size: 1, workerData: { failInit: true } });
      await assert.rejects(pool.start(), (e: unknown) => e instanceof WorkerInitError && e.code === 'ERR_SLUICE_WORKER_INIT' && /database unreachable/.test(e.message));
      await pool.close();
    });

    test('recycle after maxTasks: the replacement starts first, work moves to a new worker, recycled is published', async () => {
      const seen: unknown[] = [];
      const onRecycled = (m: unknown): void => void seen.push(m);
      subscribe('sluice:worker:recycled', onRecycled);
      const pool = createPool<M>({ kind, module: SUPERVISED, size: 1, supervision: { recycle: { maxTasks: 3 } } });
      try {
        const ids = new Set<number>();
        for (let round = 0; round < 2; round++) {
          for (let i = 0; i < 3; i++) ids.add(await pool.run('whoAmI', undefined));
          const old = pool.stats().workerList[0]?.id;
          assert.ok(pool.stats().size <= 2, 'never more than max + 1 workers');
          // The old worker leaves only once its replacement is ready.
          await until(() => pool.stats().size === 1 && pool.stats().workerList[0]?.id !== old, 'replaced');
        }
        ids.add(await pool.run('whoAmI', undefined));
        assert.equal(ids.size, 3, `ran on ${ids.size} workers`);
        assert.equal(pool.stats().supervision.recycled, 2);
        assert.ok(pool.stats().size <= 2, 'never more than max + 1 workers');
        assert.ok(seen.some((m) => (m as { why: string }).why === 'max-tasks'));
      } finally {
        unsubscribe('sluice:worker:recycled', onRecycled);
        await pool.close();
      }
    });

    test('the watchdog kills a worker that stops beating and rejects its task with WorkerStalledError; a declared blocking task is spared until its stallMs', { skip: false }, async () => {
      const clock = new ManualClock();
      const sab = new SharedArrayBuffer(16);
      const stalled: unknown[] = [];
      const onStalled = (m: unknown): void => void stalled.push(m);
      subscribe('sluice:worker:stalled', onStalled);
      const pool = createPool<M>({ kind, module: SUPERVISED, size: 1, clock, workerData: kind === 'thread' ? { sab } : {}, supervision: { heartbeat: { intervalMs: 1000, missedBeats: 3 } } });
      try {
        await pool.start();
        const p = pool.run('hang', undefined, { stallMs: 10_000 });
        const settled = p.then(
          () => 'resolved',
          (e: unknown) => e,
        );
        if (kind === 'thread') await waitFlag(sab, 2);
        else await until(() => pool.stats().workerList[0]?.inflight === 1, 'dispatched');
        // Process: the start marker must have arrived for the watchdog to know what runs.
        if (kind === 'process') await new Promise((r) => setTimeout(r, 200)); // lets the hang start (the outcome below does not depend on timing: a process task counts from its batch's start)
        for (let i = 0; i < 8; i++) clock.advance(1000);
        assert.equal(pool.stats().supervision.stalls, 0, 'blocked but declared: not stalled yet');
        for (let i = 0; i < 8; i++) clock.advance(1000);
        const err = await settled;
        assert.ok(err instanceof WorkerStalledError, String(err));
        assert.equal(err.code, 'ERR_SLUICE_WORKER_STALLED');
        assert.equal(err.report.task, 'hang');
        assert.match(err.message, /stalled while running "hang"/);
        if (kind === 'thread') assert.equal(typeof err.report.eventLoopUtilization, 'number');
        else assert.equal(typeof err.report.pid, 'number');
        assert.equal(stalled.length, 1);
        assert.equal(await pool.run('inc', 1), 2, 'replaced');
      } finally {
        unsubscribe('sluice:worker:stalled', onStalled);
        await pool.terminate();
      }
    });

    test('restart intensity: a crash loop fails the pool with PoolFailedError; a probe that stays up recovers it', { skip: false }, async () => {
      const clock = new ManualClock();
      const events: string[] = [];
      const pool: Pool<M> = createPool<M>({ kind, module: SUPERVISED, size: 1, clock, supervision: { restartIntensity: { maxRestarts: 2, withinMs: 10_000, backoffMs: 100, recoverAfterMs: 500 } } });
      pool.on('pool-failed', () => events.push('failed'));
      pool.on('pool-recovered', () => events.push('recovered'));
      try {
        await pool.start();
        for (let i = 0; i < 3; i++) {
          await assert.rejects(pool.run('exit', 1), { code: 'ERR_SLUICE_WORKER_CRASHED' });
          // Workers that did no work are replaced after a growing respawn delay (25 ms, 50 ms, ...) on the pool's clock.
          clock.advance(50);
        }
        assert.equal(pool.stats().supervision.restarts, 3);
        await until(() => pool.stats().state === 'failed', 'failed');
        const err = await pool.run('inc', 1).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof PoolFailedError);
        assert.equal(err.causes.length, 3);
        assert.equal(pool.stats().rejected, 1);
        await until(() => pool.stats().size === 0, 'workers stopped');
        clock.advance(100);
        await until(() => pool.stats().workerList[0]?.state === 'ready', 'probe ready');
        clock.advance(500);
        assert.equal(pool.stats().state, 'running');
        assert.equal(await pool.run('inc', 1), 2);
        assert.deepEqual(events, ['failed', 'recovered']);
      } finally {
        await pool.terminate();
      }
    });
  });
}

test('circuit breaker in a pool: opens on errors, fails fast, full-queue rejections do not count, recovers after the cool-down', async () => {
  const clock = new ManualClock();
  const pool = createPool({
    kind: 'async',
    size: 1,
    clock,
    queue: { capacity: 1 },
    tasks: {
      work: (x: number) => {
        if (x < 0) throw new Error('bad');
        return x;
      },
      slow: () => new Promise((r) => setTimeout(r, 1)),
    },
    supervision: { circuitBreaker: { threshold: 0.5, minVolume: 4, coolDownMs: 1000, halfOpenTrials: 1 } },
  });
  try {
    await pool.start();
    // Fill the queue: the third is refused for a full queue, which must not count.
    const a = pool.run('slow', undefined);
    const b = pool.run('slow', undefined);
    await assert.rejects(pool.run('slow', undefined), { code: 'ERR_SLUICE_QUEUE_FULL' });
    await Promise.all([a, b]);
    assert.equal(pool.stats().supervision.breakers.slow, 'closed');
    for (let i = 0; i < 4; i++) await assert.rejects(pool.run('work', -1), /bad/);
    const open = await pool.run('work', 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(open instanceof CircuitOpenError);
    assert.equal(open.code, 'ERR_SLUICE_CIRCUIT_OPEN');
    assert.equal(pool.stats().supervision.breakers.work, 'open');
    clock.advance(1000);
    assert.equal(await pool.run('work', 7), 7, 'half-open trial');
    assert.equal(pool.stats().supervision.breakers.work, 'closed');
    const s = pool.stats();
    assert.equal(s.submitted, s.completed + s.failed + s.rejected);
  } finally {
    await pool.close();
  }
});

test('supervision options are validated with coded errors', () => {
  const bad: [unknown, RegExp][] = [
    [{ heartbeat: { intervalMs: 0 } }, /supervision\.heartbeat\.intervalMs must be a positive number/],
    [{ recycle: { maxTasks: -1 } }, /supervision\.recycle\.maxTasks must be a positive integer/],
    [{ circuitBreaker: { threshold: 2 } }, /supervision\.circuitBreaker\.threshold must be a number above 0/],
    [{ circuitBreaker: { window: { count: 1, ms: 1 } } }, /supervision\.circuitBreaker\.window must be \{ count \} or \{ ms \}/],
    [{ restartIntensity: { maxRestarts: 1.5 } }, /supervision\.restartIntensity\.maxRestarts must be a non-negative integer/],
    [{ quarantine: { minTasks: 65 } }, /supervision\.quarantine\.minTasks must be an integer from 1 to 64 \(a worker is judged on its last 64 outcomes\), got 65 \(number\)/],
    [{ quarantine: { significance: 0 } }, /supervision\.quarantine\.significance must be a probability above 0 and below 1/],
    [{ nope: 1 }, /supervision\.nope must be a known option/],
  ];
  for (const [supervision, re] of bad) {
    assert.throws(() => createPool({ module: SUPERVISED, supervision } as never), (e: unknown) => (e as { code?: string }).code === 'ERR_SLUICE_INVALID_OPTION' && re.test((e as Error).message), JSON.stringify(supervision));
  }
  assert.throws(() => createPool({ kind: 'async', tasks: { f: () => 1 }, supervision: { heartbeat: true } }), /absent for kind 'async'/);
  assert.throws(() => createPool({ module: SUPERVISED, supervision: { recycle: { maxHeapMb: 10 } } }), /set together with supervision.heartbeat/);
});
