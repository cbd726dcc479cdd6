/**
 * Dead-letter sinks never throw: an entry the file or the callback cannot
 * take is kept in memory (bounded) and the sink's `onError` hook is told.
 * The sinks are driven directly, with no pool, no timers and no sleeps.
 * `/dev/full` stands in for a full disk (every write fails with ENOSPC).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CallbackSink, createDeadLetterSink, FALLBACK_CAPACITY, FileSink, MemorySink, type DeadLetter, type DeadLetterSink } from '../../src/dead-letter/sinks.js';
import { channels, CHANNEL_NAMES, type DeadLetterErrorEvent } from '../../src/observability/diagnostics.js';
import { attachLogger } from '../../src/observability/logger.js';
import type { Logger } from '../../src/api/options.js';

const FULL = '/dev/full';
const haveFull = existsSync(FULL);

function entry(taskId: number, input: unknown = { n: taskId }): DeadLetter {
  return {
    taskId,
    taskName: 'work',
    input,
    inputCloneable: true,
    reason: 'failed',
    error: { name: 'Error', code: undefined, message: `boom ${taskId}`, stack: undefined },
    attempts: 1,
    correlationId: `c-${taskId}`,
    submittedAt: 1,
    finishedAt: 2,
  };
}

function withDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-dls-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Records what the hook sees. */
function hooked(sink: DeadLetterSink): Array<{ err: unknown; entry: DeadLetter }> {
  const seen: Array<{ err: unknown; entry: DeadLetter }> = [];
  sink.onError = (err, e) => seen.push({ err, entry: e });
  return seen;
}

test('file sink on a full disk: write never throws, the entry stays listable, onError is told', { skip: !haveFull && 'no /dev/full' }, withDir((dir) => {
  const path = join(dir, 'dead.jsonl');
  symlinkSync(FULL, path);
  const sink = createDeadLetterSink({ kind: 'file', path }) as FileSink;
  const seen = hooked(sink);
  const e = entry(1);
  assert.doesNotThrow(() => sink.write(e));
  assert.equal(seen.length, 1, 'told synchronously');
  assert.equal(seen[0]?.entry, e);
  assert.equal((seen[0]?.err as NodeJS.ErrnoException).code, 'ENOSPC');
  assert.deepEqual(sink.list(), [e], 'list() shows the entry kept in memory (and never reads the device)');
  assert.equal(sink.evicted, 0);
  assert.doesNotThrow(() => sink.close(), 'fsync of a device fails (EINVAL): close still closes');
}));

test('file sink opened straight on /dev/full behaves the same', { skip: !haveFull && 'no /dev/full' }, () => {
  const sink = new FileSink(FULL);
  const seen = hooked(sink);
  sink.write(entry(1));
  sink.write(entry(2));
  assert.deepEqual(seen.map((s) => s.entry.taskId), [1, 2]);
  assert.deepEqual(sink.list().map((e) => e.taskId), [1, 2]);
  assert.deepEqual(sink.take((e) => e.taskId === 1).map((e) => e.taskId), [1], 'take() reaches the kept entries');
  assert.deepEqual(sink.list().map((e) => e.taskId), [2]);
  sink.close();
});

test(`the memory a failing sink falls back on is bounded (${FALLBACK_CAPACITY} entries, oldest evicted and counted)`, { skip: !haveFull && 'no /dev/full' }, () => {
  const sink = new FileSink(FULL);
  let errors = 0;
  sink.onError = () => errors++;
  for (let i = 0; i < FALLBACK_CAPACITY + 5; i++) sink.write(entry(i));
  const kept = sink.list();
  assert.equal(kept.length, FALLBACK_CAPACITY);
  assert.equal(kept[0]?.taskId, 5);
  assert.equal(sink.evicted, 5);
  assert.equal(errors, FALLBACK_CAPACITY + 5);
  sink.close();
});

test('file sink without a hook reports the failure as a process warning', { skip: !haveFull && 'no /dev/full' }, async () => {
  const sink = new FileSink(FULL);
  const warned = once(process, 'warning') as Promise<[Error]>;
  sink.write(entry(9));
  const [w] = await warned;
  assert.equal(w.name, 'SluiceWarning');
  assert.match(w.message, /could not record task 9 \("work", c-9\); kept in memory: ENOSPC/);
  assert.equal(sink.list().length, 1);
  sink.close();
});

test('a hook that throws does not make write throw', { skip: !haveFull && 'no /dev/full' }, () => {
  const sink = new FileSink(FULL);
  sink.onError = () => {
    throw new Error('hook broke');
  };
  assert.doesNotThrow(() => sink.write(entry(1)));
  assert.equal(sink.list().length, 1);
  sink.close();
});

test('file sink: a write after close is kept in memory, not thrown', withDir((dir) => {
  const sink = new FileSink(join(dir, 'dead.jsonl'));
  sink.write(entry(1));
  sink.close();
  const seen = hooked(sink);
  assert.doesNotThrow(() => sink.write(entry(2)));
  assert.match((seen[0]?.err as Error).message, /^dead-letter file .*dead\.jsonl is closed$/);
  assert.deepEqual(sink.list().map((e) => e.taskId), [1, 2], 'the file entry, then the kept one');
  assert.doesNotThrow(() => sink.close(), 'close is idempotent');
}));

test('file sink on a working disk: one line per entry, an input with no JSON form kept without it, a bad line skipped', withDir((dir) => {
  const path = join(dir, 'dead.jsonl');
  const sink = new FileSink(path);
  const seen = hooked(sink);
  sink.write(entry(1));
  sink.write(entry(2, { big: 10n }));
  assert.equal(seen.length, 0);
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 2);
  const second = sink.list()[1];
  assert.equal(second?.inputCloneable, false);
  assert.equal(second?.input, undefined);
  // A line that does not parse (a fragment some other writer left) no longer makes list() throw.
  appendFileSync(path, 'not json\n');
  sink.write(entry(3));
  assert.deepEqual(sink.list().map((e) => e.taskId), [1, 2, 3]);
  assert.deepEqual(sink.take((e) => e.taskId === 2).map((e) => e.taskId), [2]);
  assert.deepEqual(sink.list().map((e) => e.taskId), [1, 3]);
  sink.close();
}));

test('callback sink: a callback that throws keeps the entry and tells onError at once', () => {
  const boom = new Error('callback broke');
  const sink = new CallbackSink(() => {
    throw boom;
  });
  const seen = hooked(sink);
  const e = entry(1);
  assert.doesNotThrow(() => sink.write(e));
  assert.deepEqual(seen, [{ err: boom, entry: e }]);
  assert.deepEqual(sink.list(), [e]);
  assert.deepEqual(sink.take(() => true), [e], 'redrive can take it');
  assert.deepEqual(sink.list(), []);
});

test('callback sink: a rejected promise keeps the entry and tells onError, with no unhandled rejection', async () => {
  const boom = new Error('async callback broke');
  let rejected!: Promise<void>;
  const sink = createDeadLetterSink({
    kind: 'callback',
    onEntry: () => {
      rejected = Promise.reject(boom);
      return rejected;
    },
  }) as CallbackSink;
  const seen = hooked(sink);
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  try {
    const e = entry(1);
    assert.doesNotThrow(() => sink.write(e));
    assert.equal(seen.length, 0, 'not yet: the promise has not settled for the sink');
    // The sink's handler was attached first, so it has run once this one has.
    await rejected.then(undefined, () => undefined);
    assert.deepEqual(seen, [{ err: boom, entry: e }]);
    assert.deepEqual(sink.list(), [e]);
    await new Promise<void>((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('callback sink: a callback that succeeds (sync, async, or returning a non-promise) keeps nothing', async () => {
  const got: number[] = [];
  const resolved = Promise.resolve();
  const sinks = [new CallbackSink((e) => got.push(e.taskId)), new CallbackSink((e) => Promise.resolve().then(() => void got.push(e.taskId))), new CallbackSink(() => resolved)];
  for (const s of sinks) {
    const seen = hooked(s);
    s.write(entry(7));
    await resolved;
    await Promise.resolve();
    assert.deepEqual(seen, []);
    assert.deepEqual(s.list(), []);
    assert.equal(s.evicted, 0);
  }
  assert.deepEqual(got, [7, 7]);
});

test('memory sink is unchanged: bounded, evicts the oldest', () => {
  const sink = new MemorySink(2);
  for (let i = 1; i <= 3; i++) sink.write(entry(i));
  assert.deepEqual(sink.list().map((e) => e.taskId), [2, 3]);
  assert.equal(sink.evicted, 1);
});

test('sluice:deadletter:error is declared, and the logger writes it at error level', () => {
  assert.equal(channels.deadLetterError.name, 'sluice:deadletter:error');
  assert.ok(CHANNEL_NAMES.includes('sluice:deadletter:error'));
  const lines: Array<[string, object, string | undefined]> = [];
  const logger: Logger = {
    debug: (o, m) => lines.push(['debug', o, m]),
    info: (o, m) => lines.push(['info', o, m]),
    warn: (o, m) => lines.push(['warn', o, m]),
    error: (o, m) => lines.push(['error', o, m]),
  };
  const detach = attachLogger('pool-1', logger);
  const seen: unknown[] = [];
  const sub = (m: unknown) => seen.push(m);
  subscribe('sluice:deadletter:error', sub);
  try {
    const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const event: DeadLetterErrorEvent = { pool: 'p', poolId: 'pool-1', taskId: 4, task: 'work', correlationId: 'c-4', error: err };
    channels.deadLetterError.publish(event);
    channels.deadLetterError.publish({ ...event, poolId: 'another-pool' });
    assert.equal(seen.length, 2);
    assert.deepEqual(lines, [
      ['error', { pool: 'p', taskId: 4, task: 'work', correlationId: 'c-4', err }, 'dead-letter sink failed; entry kept in memory'],
    ]);
  } finally {
    unsubscribe('sluice:deadletter:error', sub);
    detach();
  }
});
