import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as sluice from '../../src/index.js';
import { JobLostError, RedisUnavailableError } from '../../src/bullmq/errors.js';
import { decodeError, encodeError } from '../../src/wire/error-codec.js';
import { describe as describeValue } from '../../src/api/errors.js';

test('every error class extends SluiceError and has a stable ERR_SLUICE_ code', () => {
  const made: sluice.SluiceError[] = [
    new sluice.QueueFullError(10, 2),
    new sluice.QueueTimeoutError(5),
    new sluice.TaskTimeoutError('t', 5),
    new sluice.TaskAbortedError('t', 'why'),
    new sluice.DeadlineExceededError('t', 5, true),
    new sluice.WorkerCrashedError({ workerId: 1, reason: 'exit', exitCode: 1 }),
    new sluice.PoolClosedError(),
    new sluice.UnknownTaskError('x', ['a']),
    new sluice.SerializationError('t', 'input', new Error('x')),
    new sluice.InvalidOptionError('size', 'a positive integer', -1),
    new sluice.ModuleLoadError('file:///x.js', new Error('nope')),
    new sluice.TaskFailedError('t', 'str'),
    new sluice.TaskDroppedError('t', 'c', 10),
    new RedisUnavailableError('q', 'submit', new Error('down')),
    new JobLostError('q', '7'),
    new sluice.WorkerStalledError({ workerId: 1, kind: 'thread', task: 't', taskId: 1, correlationId: 'c', runningMs: 5, missedBeats: 3, silentMs: 3000, heapUsed: undefined, rss: undefined, eventLoopUtilization: 1, pid: undefined, reportFile: undefined }),
    new sluice.WorkerInitError(1, new Error('db down')),
    new sluice.PoolFailedError(5, 1000, [new Error('boom')]),
    new sluice.CircuitOpenError('t', 'task', 0.5, 10),
    new sluice.ResultLostError(1, 't', 'the worker was killed by SIGKILL before sending it'),
  ];
  const codes = new Set(made.map((e) => e.code));
  assert.deepEqual([...codes].sort(), Object.values(sluice.ErrorCodes).sort(), 'each code has a class and each class a code');
  for (const e of made) {
    assert.ok(e instanceof sluice.SluiceError);
    assert.ok(e instanceof Error);
    assert.match(e.code, /^ERR_SLUICE_[A-Z_]+$/);
    assert.equal(e.name, e.constructor.name);
  }
});

test('instanceof SluiceError works for an error from another copy of the package (brand, not prototype)', () => {
  class Foreign extends Error {}
  const foreign = new Foreign('x');
  Object.defineProperty(foreign, Symbol.for('sluice.error'), { value: true });
  assert.ok(foreign instanceof sluice.SluiceError);
  assert.ok(!(new Error('plain') instanceof sluice.SluiceError));
});

test('InvalidOptionError names the option, the expectation and the value with its type', () => {
  assert.equal(new sluice.InvalidOptionError('size', 'a positive integer', -1).message, 'size must be a positive integer, got -1 (number)');
  assert.equal(new sluice.InvalidOptionError('kind', "one of 'thread'", 'x').message, `kind must be one of 'thread', got "x" (string)`);
  assert.equal(describeValue(null), 'null');
  assert.equal(describeValue([1]), '[1] (array)');
});

test('causes are kept', () => {
  const cause = new Error('inner');
  assert.equal(new sluice.ModuleLoadError('m', cause).cause, cause);
  assert.equal(new sluice.TaskAbortedError('t', 'why').cause, 'why');
});

test('sluice errors rebuilt from another worker or machine are instances of their class and of SluiceError', () => {
  const rebuilt = decodeError(encodeError(new sluice.TaskTimeoutError('t', 5)), 't');
  assert.ok(rebuilt instanceof sluice.TaskTimeoutError);
  assert.ok(rebuilt instanceof sluice.SluiceError);
  assert.equal((rebuilt).code, 'ERR_SLUICE_TASK_TIMEOUT');
  assert.equal(rebuilt.name, 'TaskTimeoutError');
  assert.equal((rebuilt).timeoutMs, 5);
});

test('instanceof a subclass works for an error from another copy of the package (per-class brand)', () => {
  // What an error made by another copy of sluice carries: the base brand and its class's brand, not this copy's prototype.
  const f = new Error('x');
  Object.defineProperty(f, Symbol.for('sluice.error'), { value: true });
  Object.defineProperty(f, Symbol.for('sluice.error.ERR_SLUICE_TASK_TIMEOUT'), { value: true });
  assert.ok(f instanceof sluice.SluiceError);
  assert.ok(f instanceof sluice.TaskTimeoutError);
  assert.ok(!(f instanceof sluice.QueueFullError));
  assert.ok(!(new sluice.QueueFullError(1, 1) instanceof sluice.TaskTimeoutError));
  assert.ok(new sluice.ResultLostError(1, 't', 'why') instanceof sluice.ResultLostError);
});
