import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPool, type ScalerMetrics } from '../../src/index.js';
import { ManualClock } from '../../src/testing.js';
import { Gate, taskPool } from '../helpers/index.js';
import { eventually as until } from '../helpers/index.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('adaptive size in the pool', () => {
  test('resize() grows by spawning and shrinks by retiring idle workers, within [min, max]', async () => {
    const clock = new ManualClock();
    const pool = taskPool({ size: { min: 1, max: 4, idleTimeoutMs: Infinity }, clock });
    try {
      await pool.start();
      pool.resize(3);
      assert.equal(pool.stats().size, 3, 'spawned at once');
      assert.equal(pool.stats().targetSize, 3);
      await until(() => pool.stats().workers.idle === 3, 'three ready workers');
      pool.resize(99);
      assert.equal(pool.stats().targetSize, 4, 'clamped to max');
      await until(() => pool.stats().workers.idle === 4, 'four ready workers');
      pool.resize(0);
      assert.equal(pool.stats().targetSize, 1, 'clamped to min');
      await until(() => pool.stats().size === 1, 'idle workers retired');
      assert.equal(await pool.run('inc', 1), 2);
      assert.throws(() => pool.resize(-1), /size must be a non-negative integer/);
    } finally {
      await pool.close();
    }
  });

  test('shrinking drains busy workers: they take no new work and stop once their task is done', async () => {
    const clock = new ManualClock();
    const gate = new Gate();
    const pool = taskPool({ size: { min: 1, max: 3, idleTimeoutMs: Infinity }, pipeline: 1, clock });
    try {
      await pool.start();
      pool.resize(3);
      const runs = [0, 1, 2].map((i) => pool.run('gate', { flag: gate.flag, value: i }));
      await gate.waitStarted(3);
      pool.resize(1);
      const s = pool.stats();
      assert.equal(s.targetSize, 1);
      assert.equal(s.size, 3, 'busy workers are not killed');
      assert.equal(s.workers.busy, 1, 'two of them are draining');
      const extra = pool.run('inc', 41);
      await tick();
      assert.equal(pool.stats().queued, 1, 'a draining worker takes no new work');
      gate.release();
      assert.deepEqual(await Promise.all(runs), [0, 1, 2], 'draining workers finish their tasks');
      assert.equal(await extra, 42);
      await until(() => pool.stats().size === 1, 'drained workers stopped');
      assert.equal(pool.stats().failed, 0);
    } finally {
      await pool.close();
    }
  });

  test('a custom scaler gets a sample every sampleMs and its answer sets the size', async () => {
    const clock = new ManualClock();
    const seen: ScalerMetrics[] = [];
    let want = 3;
    const scaler = { sample: (m: ScalerMetrics) => (seen.push(m), want) };
    const pool = taskPool({ size: { min: 1, max: 4, scaler, idleTimeoutMs: Infinity }, saturation: { sampleMs: 100, windowMs: 1000 }, clock });
    try {
      await pool.start();
      assert.equal(pool.stats().size, 1, 'a scaled pool starts at min (at least 1)');
      assert.equal(pool.stats().targetSize, 1);
      clock.advance(100);
      assert.equal(seen.length, 1);
      const m = seen[0] as ScalerMetrics;
      assert.equal(m.size, 1);
      assert.equal(m.min, 1);
      assert.equal(m.max, 4);
      assert.ok(m.cpus >= 1);
      assert.equal(m.queueDepth, 0);
      assert.equal(m.now, 100);
      assert.equal(pool.stats().size, 3);
      await until(() => pool.stats().workers.idle === 3, 'grown to 3');
      clock.advance(100);
      assert.equal((seen[1] as ScalerMetrics).size, 3);
      assert.ok((seen[1] as ScalerMetrics).cpu >= 0 && (seen[1] as ScalerMetrics).cpu <= 1, 'process CPU reading');
      want = 1;
      clock.advance(100);
      await until(() => pool.stats().size === 1, 'shrunk to 1');
      assert.equal(await pool.run('inc', 1), 2);
    } finally {
      await pool.close();
    }
  });

  test('without a scaler, work waiting still grows the pool up to max', async () => {
    const clock = new ManualClock();
    const gate = new Gate();
    const pool = taskPool({ size: { min: 1, max: 2, idleTimeoutMs: Infinity }, pipeline: 1, clock });
    try {
      await pool.start();
      const runs = [0, 1].map((i) => pool.run('gate', { flag: gate.flag, value: i }));
      await gate.waitStarted(2);
      assert.equal(pool.stats().size, 2);
      gate.release();
      await Promise.all(runs);
    } finally {
      await pool.close();
    }
  });

  test("stats() reports Little's law: λ, W and N = λ·W", async () => {
    const clock = new ManualClock();
    const waiting: (() => void)[] = [];
    const pool = createPool({
      kind: 'async',
      tasks: { hold: () => new Promise<void>((r) => waiting.push(r)) },
      size: 10,
      saturation: { sampleMs: 1000, windowMs: 10_000 },
      clock,
    });
    try {
      const before = pool.stats().little;
      assert.equal(before.arrivalRate, 0);
      assert.ok(Number.isNaN(before.meanRunMs), 'W unknown before any task finished');
      const runs = Array.from({ length: 10 }, () => pool.run('hold', undefined));
      await until(() => waiting.length === 10, 'tasks running');
      clock.advance(50);
      for (const r of waiting) r();
      await Promise.all(runs);
      clock.advance(950);
      const { arrivalRate, meanRunMs, concurrency } = pool.stats().little;
      assert.equal(meanRunMs, 50, 'each task held its worker for 50 ms of pool time');
      // 10 arrivals in the first second, folded into a 10 s moving average.
      assert.ok(Math.abs(arrivalRate - 10 * (1 - Math.exp(-0.1))) < 1e-9, `λ = ${arrivalRate}`);
      assert.ok(Math.abs(concurrency - (arrivalRate * 50) / 1000) < 1e-12);
    } finally {
      await pool.close();
    }
  });
});
