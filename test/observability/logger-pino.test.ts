/**
 * The logger option with a real pino: every line parses, the worker's pid
 * is `workerPid` (pino's own `pid` stays the pool's process), and each
 * failure line's `err` is pino's error serialisation: type, message, stack,
 * code and the cause chain.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { taskPool } from '../helpers/index.js';

type Line = Record<string, unknown> & { msg: string; err?: Record<string, unknown> };

function capture(): { stream: Writable; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { stream, lines };
}

/** pino writes a duplicate key twice; JSON.parse keeps the last. Count them in the raw text instead. */
function keysOnce(raw: string, key: string): boolean {
  return raw.split(`"${key}":`).length <= 2;
}

for (const kind of ['thread', 'process'] as const) {
  test(`pino lines carry workerPid and serialised errors (${kind} workers)`, async () => {
    const raw: string[] = [];
    const { stream, lines } = capture();
    const tee = new Writable({
      write(chunk: Buffer, enc, done) {
        raw.push(chunk.toString('utf8'));
        stream.write(chunk, enc, done);
      },
    });
    const pool = taskPool({ kind, size: 1, logger: pino({ level: 'debug' }, tee) });
    try {
      await pool.run('inc', 1);
      await assert.rejects(pool.run('fail', 'error', { correlationId: 'coded' }));
      await assert.rejects(pool.run('fail', 'cause', { correlationId: 'caused' }));
      await assert.rejects(pool.run('fail', 'string', { correlationId: 'string' }));
      await assert.rejects(pool.run('exit', 3, { correlationId: 'exited' }));
    } finally {
      await pool.close();
    }
    const spawned = lines.filter((l) => l.msg === 'worker spawned');
    assert.ok(spawned.length >= 1);
    for (const l of spawned) {
      assert.equal(l.pid, process.pid, "pino's pid is the pool's process");
      if (kind === 'process') assert.equal(typeof l.workerPid, 'number');
      else assert.equal(l.workerPid, undefined, 'a thread has no pid of its own');
    }
    for (const text of raw) assert.ok(keysOnce(text, 'pid'), `one pid per line: ${text}`);

    // A worker that called process.exit has no error of its own: its line has the code, its task's line the error.
    assert.equal(lines.find((l) => l.msg === 'worker died')?.code, 3);
    const failures = lines.filter((l) => l.msg === 'task failed');
    assert.equal(failures.length, 4);
    for (const l of failures) {
      const err = l.err as Record<string, unknown>;
      assert.equal(typeof err.type, 'string', l.msg);
      assert.equal(typeof err.message, 'string');
      assert.match(err.stack as string, /\n\s+at /, 'a real stack');
    }
    const coded = lines.find((l) => l.msg === 'task failed' && l.correlationId === 'coded')?.err;
    assert.equal(coded?.code, 'E_BOOM');
    assert.equal(coded?.message, 'boom');
    const caused = lines.find((l) => l.msg === 'task failed' && l.correlationId === 'caused')?.err;
    assert.match(caused?.message as string, /^outer: inner: innermost$/, "pino folds the cause chain into message");
    assert.match(caused?.stack as string, /caused by: TypeError: inner[\s\S]*caused by: RangeError: innermost/);
    const thrownString = lines.find((l) => l.msg === 'task failed' && l.correlationId === 'string')?.err;
    assert.match(thrownString?.message as string, /plain string/);
    const crashed = lines.find((l) => l.msg === 'task failed' && l.correlationId === 'exited')?.err;
    assert.equal(crashed?.code, 'ERR_SLUICE_WORKER_CRASHED');
    assert.equal(crashed?.type, 'WorkerCrashedError');
  });
}

test('with pino.stdSerializers.errWithCause the cause is a nested object', async () => {
  const { stream, lines } = capture();
  const pool = taskPool({ size: 1, logger: pino({ level: 'warn', serializers: { err: pino.stdSerializers.errWithCause } }, stream) });
  try {
    await assert.rejects(pool.run('fail', 'cause'));
  } finally {
    await pool.close();
  }
  const err = lines.find((l) => l.msg === 'task failed')?.err as { message: string; cause: { type: string; message: string; cause: { message: string } } };
  assert.equal(err.message, 'outer');
  assert.equal(err.cause.message, 'inner');
  assert.equal(err.cause.cause.message, 'innermost');
});
