/**
 * The throttle between a task's ctx.progress() and job.updateProgress(), on
 * a ManualClock: no Redis, no sleeps. Writes are promises the test settles.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProgressWriter, PROGRESS_INTERVAL_MS } from '../../src/bullmq/progress-writer.js';
import { ManualClock } from '../../src/time/clock.js';

/** A write function that records each value and settles when the test says. */
function recorder(): { writes: unknown[]; settle: (i: number, err?: Error) => void; write: (v: unknown) => Promise<void> } {
  const writes: unknown[] = [];
  const settlers: Array<(err?: Error) => void> = [];
  return {
    writes,
    settle: (i, err) => settlers[i]?.(err),
    write: (v) => {
      writes.push(v);
      return new Promise<void>((resolve, reject) => settlers.push((err) => (err === undefined ? resolve() : reject(err))));
    },
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ProgressWriter', () => {
  test('the first report is written at once; reports during a write and within the interval coalesce to the latest', async () => {
    const clock = new ManualClock();
    const r = recorder();
    const w = new ProgressWriter(r.write, () => assert.fail('no error expected'), clock);
    w.report(1);
    w.report(2);
    w.report(3);
    assert.deepEqual(r.writes, [1], 'one write in flight at a time');
    r.settle(0);
    await turn();
    assert.deepEqual(r.writes, [1], 'not before the interval has passed');
    w.report(4);
    clock.advance(PROGRESS_INTERVAL_MS - 1);
    assert.deepEqual(r.writes, [1]);
    clock.advance(1);
    assert.deepEqual(r.writes, [1, 4], 'the latest value, once the interval has passed');
    r.settle(1);
    await turn();
    clock.advance(10 * PROGRESS_INTERVAL_MS);
    assert.deepEqual(r.writes, [1, 4], 'nothing new reported, nothing written');
  });

  test('finish() writes the last value reported without waiting for the interval, and resolves once it is stored', async () => {
    const clock = new ManualClock();
    const r = recorder();
    const w = new ProgressWriter(r.write, () => assert.fail('no error expected'), clock);
    w.report('a');
    r.settle(0);
    await turn();
    w.report('b');
    w.report('c');
    let finished = false;
    const done = w.finish().then(() => (finished = true));
    await turn();
    assert.deepEqual(r.writes, ['a', 'c']);
    assert.equal(finished, false, 'not before the last write is stored');
    r.settle(1);
    await done;
    assert.equal(clock.pending, 0, 'no timer left behind');
    w.report('late');
    assert.deepEqual(r.writes, ['a', 'c'], 'reports after finish are dropped');
  });

  test('finish() waits for a write in flight, then writes what came after it', async () => {
    const r = recorder();
    const w = new ProgressWriter(r.write, () => undefined, new ManualClock());
    w.report(1);
    w.report(2);
    const done = w.finish();
    await turn();
    assert.deepEqual(r.writes, [1]);
    r.settle(0);
    await turn();
    assert.deepEqual(r.writes, [1, 2]);
    r.settle(1);
    await done;
  });

  test('a failed write is reported, never thrown; later values are still written', async () => {
    const clock = new ManualClock();
    const r = recorder();
    const errors: unknown[] = [];
    const w = new ProgressWriter(r.write, (err) => errors.push(err), clock);
    w.report(1);
    r.settle(0, new Error('Redis said no'));
    await turn();
    assert.equal((errors[0] as Error).message, 'Redis said no');
    w.report(2);
    const done = w.finish();
    await turn();
    assert.deepEqual(r.writes, [1, 2]);
    r.settle(1, new Error('again'));
    await done;
    assert.equal(errors.length, 2);
  });

  test('a write that throws synchronously is reported like one that rejects', async () => {
    const errors: unknown[] = [];
    const w = new ProgressWriter(
      () => {
        throw new TypeError('cannot serialize');
      },
      (err) => errors.push(err),
      new ManualClock(),
    );
    w.report(1n);
    await w.finish();
    assert.equal((errors[0] as Error).message, 'cannot serialize');
  });
});
