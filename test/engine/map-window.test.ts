/**
 * pool.map()'s adaptive window (src/engine/map-window.ts): the sizing rule
 * as a pure function, the rate sampler on a hand-driven clock, and mapTasks
 * driven by that clock, so no assertion depends on real timing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapTasks } from '../../src/engine/map.js';
import { taskPool } from '../helpers/index.js';
import { AdaptiveWindow, FixedWindow, MAP_TARGET_MS, MAP_WINDOW_MAX, windowBounds, windowFor } from '../../src/engine/map-window.js';

test('windowFor keeps MAP_TARGET_MS of work in flight, within its bounds', () => {
  assert.equal(windowFor(50, 4, 1024), Math.ceil(50 * MAP_TARGET_MS), '40 µs tasks on 2 workers (~50 a ms): the window grows');
  assert.equal(windowFor(2, 4, 1024), 2 * MAP_TARGET_MS, '1 ms tasks on 2 workers (2 a ms): a few');
  assert.equal(windowFor(0.2, 4, 1024), 4, '10 ms tasks on 2 workers: stays at 2 × size');
  assert.equal(windowFor(10_000, 4, 1024), 1024, 'never past the ceiling');
  assert.equal(windowFor(0, 4, 1024), 4);
  assert.equal(windowFor(Number.NaN, 4, 1024), 4);
});

test('windowBounds: from 2 × the size to MAP_WINDOW_MAX, never past the queue capacity, never below the floor', () => {
  assert.deepEqual(windowBounds(2, 10_000), { floor: 4, ceiling: MAP_WINDOW_MAX });
  assert.deepEqual(windowBounds(2, Infinity), { floor: 4, ceiling: MAP_WINDOW_MAX });
  assert.deepEqual(windowBounds(2, 100), { floor: 4, ceiling: 100 });
  assert.deepEqual(windowBounds(64, 10), { floor: 74, ceiling: 74 }, 'a small queue: what the workers and the queue hold together');
  assert.deepEqual(windowBounds(4, 2), { floor: 6, ceiling: 6 });
});

test('map on a pool whose queue is smaller than 2 × its size does not overflow it', async () => {
  const pool = taskPool({ size: 4, queue: { capacity: 2 } });
  try {
    const out: number[] = [];
    for await (const v of pool.map('inc', Array.from({ length: 50 }, (_, i) => i))) out.push(v);
    assert.deepEqual(out, Array.from({ length: 50 }, (_, i) => i + 1));
  } finally {
    await pool.close();
  }
});

test('AdaptiveWindow: grows at once on fast completions, stays at its floor on slow ones, comes down gently', () => {
  let t = 0;
  const w = new AdaptiveWindow(4, 1024, () => t);
  assert.equal(w.size, 4);
  t = 50; // the first completion after a slow start (workers spawning) only opens the first sample
  w.completed();
  assert.equal(w.size, 4);
  for (let i = 0; i < 32; i++) {
    t += 1 / 32; // 32 a ms (steps exact in binary, so the sample ends exactly at 1 ms)
    w.completed();
  }
  assert.equal(w.rate, 32);
  assert.equal(w.size, 32 * MAP_TARGET_MS);
  for (let i = 0; i < 8; i++) {
    t += 0.125; // 8 a ms: the rate comes down by an eighth of the gap
    w.completed();
  }
  assert.equal(w.rate, 32 - (32 - 8) / 8);
  assert.equal(w.size, 29 * MAP_TARGET_MS);
  for (let i = 0; i < 1024; i++) {
    t += 1 / 1024; // 1024 a ms for 1 ms: past the ceiling
    w.completed();
  }
  assert.equal(w.size, 1024);

  let s = 0;
  const slow = new AdaptiveWindow(4, 1024, () => s);
  for (let i = 0; i < 50; i++) {
    s += 10; // 10 ms tasks, one at a time
    slow.completed();
    assert.equal(slow.size, 4);
  }
});

test('FixedWindow never moves', () => {
  const w = new FixedWindow(7);
  for (let i = 0; i < 10; i++) w.completed();
  assert.equal(w.size, 7);
});

/** Runs mapTasks over 0..n-1 with tasks that finish `msEach` apart on a hand-driven clock. */
async function drive(n: number, msEach: number, floor: number, ceiling: number): Promise<{ out: number[]; sizes: Set<number>; maxOutstanding: number; window: AdaptiveWindow }> {
  let t = 0;
  const window = new AdaptiveWindow(floor, ceiling, () => t);
  let pulled = 0;
  let consumed = 0;
  let maxOutstanding = 0;
  const sizes = new Set<number>();
  function* source(): Generator<number> {
    for (let i = 0; i < n; i++) {
      pulled++;
      yield i;
    }
  }
  const run = (x: number): Promise<number> => {
    // What is read and not yet consumed never passes the window as it stands when the item is read.
    assert.ok(pulled - consumed <= window.size, `${pulled - consumed} outstanding with a window of ${window.size}`);
    maxOutstanding = Math.max(maxOutstanding, pulled - consumed);
    sizes.add(window.size);
    return Promise.resolve().then(() => {
      t += msEach;
      return x * 2;
    });
  };
  const out: number[] = [];
  for await (const v of mapTasks('double', run, source(), window, {})) {
    out.push(v as number);
    consumed++;
  }
  return { out, sizes, maxOutstanding, window };
}

test('mapTasks with an adaptive window: short tasks grow it to its ceiling and no further; order kept', async () => {
  const { out, sizes, maxOutstanding, window } = await drive(5000, 0.001, 4, 256);
  assert.deepEqual(out, Array.from({ length: 5000 }, (_, i) => i * 2));
  assert.equal(window.size, 256, 'grew to the ceiling');
  assert.ok(Math.max(...sizes) <= 256 && Math.min(...sizes) >= 4, `within [4, 256]: ${[...sizes].join(', ')}`);
  assert.equal(maxOutstanding, 256, 'the window was used, never passed');
});

test('mapTasks with an adaptive window: long tasks keep it at its floor', async () => {
  const { out, sizes, maxOutstanding } = await drive(200, 10, 4, 256);
  assert.deepEqual(out, Array.from({ length: 200 }, (_, i) => i * 2));
  assert.deepEqual([...sizes], [4]);
  assert.equal(maxOutstanding, 4);
});
