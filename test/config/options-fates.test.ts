/**
 * What becomes of the newer pool options and of small mistakes: defaults and
 * resolution (`startTimeoutMs`, `queue.maxWaiting`), and the coded
 * InvalidOptionError each mistake gets instead of a TypeError, a raw ENOENT
 * or a ModuleLoadError later.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createPool, InvalidOptionError } from '../../src/index.js';
import { resolvePoolOptions } from '../../src/config/validate.js';
import { TASKS } from '../helpers/index.js';

type Opts = Record<string, unknown>;

function resolve(opts: Opts) {
  const r = resolvePoolOptions({ module: TASKS, ...opts });
  r.deadLetter?.close();
  return r;
}

function invalid(fn: () => unknown, option: string, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.equal(err.option, option);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

const refused = (opts: Opts, option: string, message: string | RegExp) => invalid(() => createPool({ module: TASKS, ...opts }), option, message);

test('startTimeoutMs: 30 s by default, a positive number of ms or Infinity', () => {
  assert.equal(resolve({}).startTimeoutMs, 30_000);
  assert.equal(resolve({ startTimeoutMs: 250 }).startTimeoutMs, 250);
  assert.equal(resolve({ startTimeoutMs: Infinity }).startTimeoutMs, Infinity);
  assert.equal(resolve({ kind: 'process', startTimeoutMs: 5000 }).startTimeoutMs, 5000);
  refused({ startTimeoutMs: 0 }, 'startTimeoutMs', 'startTimeoutMs must be a positive number of milliseconds (or Infinity), got 0 (number)');
  refused({ startTimeoutMs: -1 }, 'startTimeoutMs', /^startTimeoutMs must be a positive number of milliseconds/);
  refused({ startTimeoutMs: Number.NaN }, 'startTimeoutMs', /got NaN \(number\)$/);
  refused({ startTimeoutMs: '5000' }, 'startTimeoutMs', /got "5000" \(string\)$/);
  invalid(
    () => createPool({ kind: 'async', tasks: { inc: (x: number) => x + 1 }, startTimeoutMs: 1000 } as never),
    'startTimeoutMs',
    "startTimeoutMs must be absent for kind 'async' (its tasks run in this process), got 1000 (number)",
  );
});

test('queue.maxWaiting: 10 × capacity, at least 1000; Infinity with an unbounded queue', () => {
  assert.equal(resolve({}).maxWaiting, 100_000);
  assert.equal(resolve({ queue: { capacity: 1, overflow: 'wait' } }).maxWaiting, 1000);
  assert.equal(resolve({ queue: { capacity: 500, overflow: 'wait' } }).maxWaiting, 5000);
  assert.equal(resolve({ queue: { capacity: Infinity } }).maxWaiting, Infinity);
  assert.equal(resolve({ queue: { overflow: 'wait', maxWaiting: 0 } }).maxWaiting, 0);
  assert.equal(resolve({ queue: { overflow: 'wait', maxWaiting: 7 } }).maxWaiting, 7);
  assert.equal(resolve({ queue: { overflow: 'wait', maxWaiting: Infinity } }).maxWaiting, Infinity);
  assert.equal(resolve({ queue: { overflow: () => 'wait', maxWaiting: 3 } }).maxWaiting, 3, 'a policy function may pick wait');
  refused({ queue: { overflow: 'wait', maxWaiting: -1 } }, 'queue.maxWaiting', 'queue.maxWaiting must be a non-negative integer or Infinity, got -1 (number)');
  refused({ queue: { overflow: 'wait', maxWaiting: 2.5 } }, 'queue.maxWaiting', /got 2\.5 \(number\)$/);
  refused(
    { queue: { maxWaiting: 10 } },
    'queue.maxWaiting',
    "queue.maxWaiting must be absent unless queue.overflow is 'wait' or a function (with 'reject' no call waits for room), got 10 (number)",
  );
  refused({ queue: { maxWaitng: 10 } }, 'queue.maxWaitng', /^queue\.maxWaitng must be a known option \(capacity, overflow, aging, maxWaiting\)/);
});

test('run options that are not an object reject with InvalidOptionError naming options', async () => {
  const pool = createPool({ kind: 'async', tasks: { inc: (x: number) => x + 1 }, size: 1 });
  try {
    for (const bad of [null, 5, 'fast', true]) {
      let p: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        p = pool.run('inc', 1, bad as never);
      });
      await assert.rejects(p as Promise<unknown>, (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, `${String(bad)}: expected InvalidOptionError, got ${String(err)}`);
        assert.equal(err.option, 'options');
        assert.match(err.message, /^options must be an object, got /);
        return true;
      });
    }
    const tried = pool.trySubmit('inc', 1, null as never);
    assert.equal(tried.accepted, true);
    if (tried.accepted) await assert.rejects(tried.result, { code: 'ERR_SLUICE_INVALID_OPTION', message: 'options must be an object, got null' });
    await assert.rejects(pool.map('inc', [1, 2], null as never).next(), { code: 'ERR_SLUICE_INVALID_OPTION', message: 'options must be an object, got null' });
    assert.equal(await pool.run('inc', 1), 2, 'the pool keeps working');
  } finally {
    await pool.terminate();
  }
});

test("execArgv a thread refuses fails createPool, pointing at resourceLimits", () => {
  refused(
    { execArgv: ['--max-old-space-size=64'] },
    'execArgv',
    "execArgv must be flags a worker thread accepts for kind 'thread' (Node refuses V8 and process-wide flags for threads: use resourceLimits.maxOldGenerationSizeMb instead of --max-old-space-size=64), got \"--max-old-space-size=64\" (string)",
  );
  refused({ execArgv: ['--no-warnings', '--max-semi-space-size=16'] }, 'execArgv', /use resourceLimits\.maxYoungGenerationSizeMb instead of --max-semi-space-size=16\), got "--max-semi-space-size=16"/);
  refused({ execArgv: ['--stack-size=2000'] }, 'execArgv', /use resourceLimits\.stackSizeMb instead of --stack-size=2000/);
  refused(
    { execArgv: ['--max_old_space_size=64', '--expose-gc'] },
    'execArgv',
    /use resourceLimits\.maxOldGenerationSizeMb instead of --max_old_space_size=64; use kind 'process' for --expose-gc\), got \["--max_old_space_size=64","--expose-gc"\] \(array\)$/,
  );
  // Flags a thread takes pass; a process takes heap flags; nothing was started to find out.
  assert.deepEqual(resolve({ execArgv: ['--no-warnings', '--enable-source-maps'] }).execArgv, ['--no-warnings', '--enable-source-maps']);
  assert.deepEqual(resolve({ execArgv: [] }).execArgv, []);
  assert.deepEqual(resolve({ kind: 'process', execArgv: ['--max-old-space-size=64'] }).execArgv, ['--max-old-space-size=64']);
});

test('a dead-letter file that cannot be opened is an InvalidOptionError naming deadLetter.path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dl-'));
  try {
    const missing = join(dir, 'no-such-dir', 'dead.jsonl');
    refused(
      { deadLetter: { kind: 'file', path: missing } },
      'deadLetter.path',
      `deadLetter.path must be a file in an existing directory (${join(dir, 'no-such-dir')} does not exist or is not a directory), got ${JSON.stringify(missing)} (string)`,
    );
    refused({ deadLetter: { kind: 'file', path: dir } }, 'deadLetter.path', /^deadLetter\.path must be a file that can be opened for appending \(EISDIR\)/);
    // A mistake in a later option leaves no file behind: the sink opens last.
    const later = join(dir, 'later.jsonl');
    refused({ deadLetter: { kind: 'file', path: later }, supervision: { healthCheckMs: -1 } }, 'supervision.healthCheckMs', /^supervision\.healthCheckMs/);
    assert.equal(existsSync(later), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('recycle memory limits are reported in MiB, not milliseconds', () => {
  refused(
    { supervision: { heartbeat: true, recycle: { maxHeapMb: 0 } } },
    'supervision.recycle.maxHeapMb',
    'supervision.recycle.maxHeapMb must be a positive number of MiB, got 0 (number)',
  );
  refused({ kind: 'process', supervision: { recycle: { maxRssMb: -5 } } }, 'supervision.recycle.maxRssMb', 'supervision.recycle.maxRssMb must be a positive number of MiB, got -5 (number)');
  assert.equal(resolve({ kind: 'process', supervision: { recycle: { maxRssMb: 2 } } }).supervision.recycle.maxRssBytes, 2 * 1024 * 1024);
  refused({ supervision: { recycle: { maxAgeMs: 0 } } }, 'supervision.recycle.maxAgeMs', 'supervision.recycle.maxAgeMs must be a positive number of milliseconds, got 0 (number)');
});
