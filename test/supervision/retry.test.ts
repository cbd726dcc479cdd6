/** Unit tests of the retry policy: no workers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidOptionError, TaskAbortedError, TaskTimeoutError, WorkerCrashedError, DeadlineExceededError, SerializationError } from '../../src/index.js';
import { NO_RETRY, resolveRetry, retryDelay, shouldRetry } from '../../src/supervision/retry.js';

test('retry schedule: exponential doubles from baseMs up to maxMs; fixed stays; full jitter scales by the random source', () => {
  const exp = resolveRetry('retry', { attempts: 6, backoff: 'exponential', baseMs: 100, maxMs: 1000, jitter: 'none' });
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => retryDelay(exp, a)), [100, 200, 400, 800, 1000]);
  const fixed = resolveRetry('retry', { attempts: 3, backoff: 'fixed', baseMs: 250, jitter: 'none' });
  assert.deepEqual([1, 2, 3].map((a) => retryDelay(fixed, a)), [250, 250, 250]);
  const jittered = resolveRetry('retry', { attempts: 3, baseMs: 100, jitter: 'full', random: () => 0.5 });
  assert.deepEqual([1, 2, 3].map((a) => retryDelay(jittered, a)), [50, 100, 200]);
});

test('shouldRetry: task errors yes; cancellation and deadlines never; timeouts and crashes only when retryOn says so', () => {
  const p = resolveRetry('retry', { attempts: 3 });
  assert.equal(shouldRetry(p, new Error('x'), 1), true);
  assert.equal(shouldRetry(p, new Error('x'), 3), false, 'attempts exhausted');
  assert.equal(shouldRetry(p, new TaskAbortedError('t', 'r'), 1), false);
  assert.equal(shouldRetry(p, new DeadlineExceededError('t', 5, false), 1), false);
  assert.equal(shouldRetry(p, new TaskTimeoutError('t', 5), 1), false);
  assert.equal(shouldRetry(p, new WorkerCrashedError({ workerId: 1, reason: 'exit' }), 1), false);
  assert.equal(shouldRetry(p, new SerializationError('t', 'output', null), 1), false);
  const yes = resolveRetry('retry', { attempts: 3, retryOn: () => true });
  assert.equal(shouldRetry(yes, new TaskTimeoutError('t', 5), 1), true);
  assert.equal(shouldRetry(yes, new WorkerCrashedError({ workerId: 1, reason: 'exit' }), 1), true);
  assert.equal(shouldRetry(yes, new TaskAbortedError('t', 'r'), 1), false, 'never, whatever retryOn says');
  const picky = resolveRetry('retry', { attempts: 3, retryOn: (e: unknown) => (e as Error).message === 'transient' });
  assert.equal(shouldRetry(picky, new Error('transient'), 1), true);
  assert.equal(shouldRetry(picky, new Error('permanent'), 1), false);
  assert.equal(shouldRetry(NO_RETRY, new Error('x'), 1), false, 'no retries by default');
});

test('bad retry options are coded InvalidOptionErrors naming the option', () => {
  const bad = (v: unknown, re: RegExp) => assert.throws(() => resolveRetry('retry', v), (e: unknown) => e instanceof InvalidOptionError && re.test(e.message));
  bad({ attempts: -1 }, /^retry\.attempts must be a positive integer, got -1 \(number\)$/);
  bad({ attempts: 0 }, /^retry\.attempts must be a positive integer/);
  bad({ backoff: 'linear' }, /^retry\.backoff must be one of 'exponential', 'fixed', got "linear"/);
  bad({ retryOn: 'yes' }, /^retry\.retryOn must be a function/);
  bad({ baseMs: -3 }, /^retry\.baseMs must be a non-negative number/);
  bad('x', /^retry must be an object/);
});
