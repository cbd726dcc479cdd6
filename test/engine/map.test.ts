/** pool.map() (src/engine/map.ts): order, laziness, errors, early exit. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MapResult } from '../../src/index.js';
import { MAP_WINDOW_MAX } from '../../src/engine/map-window.js';
import { taskPool } from '../helpers/index.js';

/**
 * Maps `inc` over 20,000 lazily pulled numbers, checking order, and returns
 * the most items ever pulled and not yet consumed.
 */
async function orderedHighWater(concurrency: number | undefined): Promise<number> {
  const pool = taskPool({ size: 2 });
  try {
    let pulled = 0;
    let consumed = 0;
    let highWater = 0;
    function* source(): Generator<number> {
      for (let i = 0; i < 20_000; i++) {
        pulled++;
        highWater = Math.max(highWater, pulled - consumed);
        yield i;
      }
    }
    let expected = 1;
    for await (const v of pool.map('inc', source(), concurrency === undefined ? {} : { concurrency })) {
      assert.equal(v, expected++);
      consumed++;
    }
    assert.equal(consumed, 20_000);
    return highWater;
  } finally {
    await pool.close();
  }
}

test('map: ordered results, lazy input with a bounded high-water mark', async () => {
  const highWater = await orderedHighWater(16);
  assert.ok(highWater <= 17, `at most concurrency (+ the one being read) outstanding, saw ${highWater}`);
});

test('map over an async iterable, unordered, with errors yielded as results', async () => {
  const pool = taskPool({ size: 2 });
  try {
    async function* source(): AsyncGenerator<'error' | 'string'> {
      for (let i = 0; i < 10; i++) {
        await Promise.resolve();
        yield i % 3 === 0 ? 'error' : 'string';
      }
    }
    const results: MapResult<never>[] = [];
    for await (const r of pool.map('fail', source(), { ordered: false, errors: 'yield', concurrency: 4 })) results.push(r);
    assert.equal(results.length, 10);
    assert.deepEqual(results.map((r) => r.index).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(results.every((r) => !r.ok));
  } finally {
    await pool.close();
  }
});

test("map with errors: 'throw' stops at the first failure and stops reading the input", async () => {
  const pool = taskPool({ size: 2 });
  try {
    let pulled = 0;
    function* source(): Generator<{ a: number; b: number } | null> {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield i === 5 ? null : { a: i, b: 1 }; // null.a throws in the worker
      }
    }
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const v of pool.map('add', source() as Iterable<{ a: number; b: number }>, { concurrency: 4 })) seen.push(v);
    });
    assert.ok(pulled < 20, `stopped reading (${pulled} pulled)`);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  } finally {
    await pool.close();
  }
});

test('map: breaking out early closes the source and the signal stops the map', async () => {
  const pool = taskPool({ size: 2 });
  try {
    let closed = false;
    function* source(): Generator<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const v of pool.map('inc', source())) if (v === 10) break;
    assert.equal(closed, true);
    const ac = new AbortController();
    ac.abort('stop');
    await assert.rejects(async () => {
      for await (const _ of pool.map('inc', [1, 2, 3], { signal: ac.signal })) void _;
    }, { code: 'ERR_SLUICE_TASK_ABORTED' });
    await assert.rejects(async () => {
      for await (const _ of pool.map('inc', [1], { concurrency: 0 })) void _;
    }, { code: 'ERR_SLUICE_INVALID_OPTION', message: 'concurrency must be a positive integer, got 0 (number)' });
  } finally {
    await pool.close();
  }
});

test('map without concurrency: the adaptive window keeps order and stays bounded', async () => {
  const highWater = await orderedHighWater(undefined);
  assert.ok(highWater <= MAP_WINDOW_MAX + 1, `at most the window's ceiling (+ the one being read) outstanding, saw ${highWater}`);
});

test('map with transfer: each input moves to the worker (detached here), and the option is checked', async () => {
  const pool = taskPool({ size: 2 });
  try {
    const inputs = [8, 16, 24, 32].map((n) => new ArrayBuffer(n));
    const lengths: number[] = [];
    for await (const n of pool.map('byteLength', inputs, { transfer: (buf) => [buf] })) lengths.push(n);
    assert.deepEqual(lengths, [8, 16, 24, 32], 'the worker got the bytes');
    assert.deepEqual(inputs.map((b) => b.byteLength), [0, 0, 0, 0], 'moved, not copied: detached in the caller');

    const kept = new ArrayBuffer(8);
    for await (const n of pool.map('byteLength', [kept])) assert.equal(n, 8);
    assert.equal(kept.byteLength, 8, 'without transfer the input is copied');

    await assert.rejects(async () => {
      for await (const _ of pool.map('byteLength', [kept], { transfer: [kept] as never })) void _;
    }, { code: 'ERR_SLUICE_INVALID_OPTION', message: /^transfer must be a function of the input that returns its transferables, got / });

    // A transfer function that throws fails its own item only.
    const results: MapResult<number>[] = [];
    const bufs = [new ArrayBuffer(1), new ArrayBuffer(2)];
    const boom = (b: ArrayBuffer): ArrayBuffer[] => {
      if (b.byteLength === 1) throw new Error('no list for this one');
      return [b];
    };
    for await (const r of pool.map('byteLength', bufs, { transfer: boom, errors: 'yield' })) results.push(r);
    assert.equal(results.length, 2);
    assert.equal(results[0]?.ok, false);
    assert.match(String(results[0]?.ok === false ? results[0].error : ''), /no list for this one/);
    assert.deepEqual(results[1], { index: 1, ok: true, value: 2 });
  } finally {
    await pool.close();
  }
});
