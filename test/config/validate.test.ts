import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool, InvalidOptionError } from '../../src/index.js';
import { TASKS } from '../helpers/index.js';

function rejects(opts: Record<string, unknown>, message: string | RegExp): void {
  assert.throws(
    () => createPool({ module: TASKS, ...opts }),
    (err: unknown) => {
      assert.ok(err instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(err)}`);
      assert.equal(err.code, 'ERR_SLUICE_INVALID_OPTION');
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

test('invalid pool options name the option, the expectation and what was got', () => {
  rejects({ size: -1 }, 'size must be a positive integer, got -1 (number)');
  rejects({ size: 1.5 }, 'size must be a positive integer, got 1.5 (number)');
  rejects({ size: '4' }, 'size must be a positive integer, got "4" (string)');
  rejects({ size: { min: 3, max: 2 } }, 'size.min must be at most size.max (2), got 3 (number)');
  rejects({ size: { max: 0 } }, 'size.max must be a positive integer, got 0 (number)');
  rejects({ kind: 'fiber' }, /^kind must be one of 'thread'.*, got "fiber" \(string\)$/);
  rejects({ queue: { capacity: 0 } }, 'queue.capacity must be a positive integer, got 0 (number)');
  rejects({ queue: { overflow: 'explode' } }, /^queue\.overflow must be one of 'reject', 'wait'.*got "explode" \(string\)$/);
  rejects({ timeoutMs: -5 }, 'timeoutMs must be a non-negative number of milliseconds, got -5 (number)');
  rejects({ resourceLimits: { maxOldGenerationSizeMb: 0 } }, 'resourceLimits.maxOldGenerationSizeMb must be a positive integer, got 0 (number)');
  rejects({ pipeline: 1000 }, /^pipeline must be 'auto' or an integer from 1 to 256, got 1000/);
  rejects({ execArgv: 'x' }, 'execArgv must be an array of strings, got "x" (string)');
  rejects({ sizee: 2 }, /^sizee must be a known option/);
  rejects({ startTimeoutMs: 0 }, 'startTimeoutMs must be a positive number of milliseconds (or Infinity), got 0 (number)');
  rejects({ queue: { overflow: 'wait', maxWaiting: -1 } }, 'queue.maxWaiting must be a non-negative integer or Infinity, got -1 (number)');
  rejects({ execArgv: ['--max-old-space-size=64'] }, /^execArgv must be flags a worker thread accepts .*resourceLimits\.maxOldGenerationSizeMb/);
  rejects({ deadLetter: { kind: 'file', path: '/no/such/dir/dead.jsonl' } }, /^deadLetter\.path must be a file in an existing directory/);
});

test('module must be a file URL or an absolute path', () => {
  assert.throws(() => createPool({ module: './tasks.js' }), /module must be a file: URL or an absolute path/);
  assert.throws(() => createPool({ module: new URL('https://example.invalid/t.js') }), /module must be a file: URL or an absolute path, got "https/);
  assert.throws(() => createPool({ module: 42 as unknown as string }), /module must be a file: URL or an absolute path, got 42 \(number\)/);
});

test('invalid run options reject the returned promise (never a synchronous throw)', async () => {
  const pool = createPool<typeof import('../fixtures/tasks.js')>({ module: TASKS, size: 1 });
  try {
    let p: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      p = pool.run('inc', 1, { timeoutMs: -1 });
    });
    await assert.rejects(p as Promise<unknown>, { code: 'ERR_SLUICE_INVALID_OPTION', message: 'timeoutMs must be a non-negative number of milliseconds, got -1 (number)' });
    await assert.rejects(pool.run('inc', 1, { signal: {} as AbortSignal }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /^signal must be an AbortSignal/ });
    for (const bad of [null, 42, 'fast']) {
      let q: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        q = pool.run('inc', 1, bad as never);
      });
      await assert.rejects(q as Promise<unknown>, { code: 'ERR_SLUICE_INVALID_OPTION', option: 'options', message: /^options must be an object, got / });
    }
    await assert.rejects(pool.close({ timeoutMs: -1 }), { code: 'ERR_SLUICE_INVALID_OPTION' });
    assert.equal(await pool.run('inc', 1), 2, 'the pool keeps working');
  } finally {
    await pool.terminate();
  }
});
