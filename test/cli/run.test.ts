import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { ExitCode, UsageError } from '../../src/cli/exit-codes.js';
import { runJob } from '../../src/cli/run/runner.js';
import { config, io, journaledLines, lineCount, readJsonl, tempDir, waitFor, writeLines } from '../helpers/cli.js';

interface OutLine {
  line: number;
  id?: unknown;
  ok: boolean;
  result: unknown;
}

interface DeadLine {
  line: number;
  ok: false;
  raw?: string;
  input?: unknown;
  error: { name: string; code: string; message: string; stack?: string };
  attempts: number;
}

function numbers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ n: i + 1 }));
}

describe('sluice run: streaming', () => {
  test('a large input with a small queue: the reader stays within queue + size of the writer', async (t) => {
    const dir = tempDir(t);
    const N = 20_000;
    const input = writeLines(join(dir, 'in.jsonl'), numbers(N));
    const c = config(dir, { input, task: 'double', size: 2, queue: 4 });
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Ok);
    assert.equal(s.ok, N);
    assert.equal(s.window, 6);
    assert.ok(s.maxAhead <= c.queue + 2, `reader ran ${s.maxAhead} lines ahead (window ${s.window})`);
    const out = readJsonl<OutLine>(c.output);
    assert.equal(out.length, N);
    const seen = new Set(out.map((o) => o.line));
    assert.equal(seen.size, N);
    for (const o of out) assert.equal(o.result, o.line * 2);
  });

  test('a CommonJS module whose tasks only its default export shows runs on every kind', async (t) => {
    const dir = tempDir(t);
    // Built at run time: Node's CommonJS lexer finds no names here, so an ES import sees only `default`.
    writeFileSync(join(dir, 'tasks.cjs'), "const tasks = {};\ntasks['inc'] = (x) => x.n + 1;\nmodule.exports = tasks;\n");
    const input = writeLines(join(dir, 'in.jsonl'), numbers(3));
    for (const kind of ['thread', 'process', 'async']) {
      const c = config(dir, { input, output: join(dir, `out-${kind}.jsonl`), moduleUrl: new URL(`file://${join(dir, 'tasks.cjs')}`).href, task: 'inc', kind, size: 1 });
      const s = await runJob(c, io());
      assert.equal(s.ok, 3, kind);
      assert.deepEqual(
        readJsonl<OutLine>(c.output)
          .map((o) => o.result)
          .sort(),
        [2, 3, 4],
        kind,
      );
    }
  });

  test('stdin input, blank lines skipped, ids copied', async (t) => {
    const dir = tempDir(t);
    const c = config(dir, { input: '-' });
    const rio = io();
    rio.stdin = Readable.from(['{"id":"a","v":1}\n\n{"v":', '2}\r\n{"id":7}']);
    const s = await runJob(c, rio);
    assert.equal(s.exitCode, ExitCode.Ok);
    assert.equal(s.blank, 1);
    const out = readJsonl<OutLine>(c.output).sort((a, b) => a.line - b.line);
    assert.deepEqual(out, [
      { line: 1, id: 'a', ok: true, result: { id: 'a', v: 1 } },
      { line: 3, ok: true, result: { v: 2 } },
      { line: 4, id: 7, ok: true, result: { id: 7 } },
    ]);
  });

  test('--ordered writes results in input order', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), numbers(2000));
    const c = config(dir, { input, task: 'shuffle', ordered: true, queue: 16 });
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Ok);
    assert.ok(s.maxAhead <= s.window);
    const out = readJsonl<OutLine>(c.output);
    assert.deepEqual(
      out.map((o) => o.line),
      Array.from({ length: 2000 }, (_, i) => i + 1),
    );
    for (const o of out) assert.equal(o.result, o.line);
  });
});

describe('sluice run: failures', () => {
  test('invalid JSON goes to the DLQ with its line number and the parse error; the run goes on', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{"n":1}', '{oops', '{"n":3}', 'nul']);
    const c = config(dir, { input, ordered: true });
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Failures);
    assert.equal(s.badJson, 2);
    assert.deepEqual(
      readJsonl<OutLine>(c.output).map((o) => o.line),
      [1, 3],
    );
    const dead = readJsonl<DeadLine>(c.dlq);
    assert.deepEqual(
      dead.map((d) => [d.line, d.raw, d.error.name, d.attempts]),
      [
        [2, '{oops', 'SyntaxError', 0],
        [4, 'nul', 'SyntaxError', 0],
      ],
    );
    assert.match(dead[0]?.error.message ?? '', /JSON/);
  });

  test('a failing task is retried with backoff, then succeeds', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), [JSON.stringify({ key: 'a', failures: 2 }), JSON.stringify({ key: 'b', failures: 0 })]);
    const c = config(dir, { input, task: 'flaky', size: 1, retries: 2, retryDelayMs: 1 });
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Ok);
    assert.equal(s.retries, 2);
    const out = readJsonl<OutLine>(c.output).sort((a, b) => a.line - b.line);
    assert.deepEqual(
      out.map((o) => o.result),
      ['a ok after 3', 'b ok after 1'],
    );
    assert.equal(existsSync(c.dlq), false, 'no DLQ file when nothing failed');
  });

  test('a task failing more than --retries times goes to the DLQ with input, error and attempts', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), [JSON.stringify({ id: 'x', key: 'x', failures: 5 })]);
    const c = config(dir, { input, task: 'flaky', size: 1, retries: 2, retryDelayMs: 1 });
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Failures);
    const [dead] = readJsonl<DeadLine & { id: string }>(c.dlq);
    assert.ok(dead);
    assert.equal(dead.line, 1);
    assert.equal(dead.id, 'x');
    assert.deepEqual(dead.input, { id: 'x', key: 'x', failures: 5 });
    assert.equal(dead.attempts, 3);
    assert.equal(dead.error.code, 'E_FLAKY');
    assert.equal(dead.error.name, 'Error');
    assert.equal(dead.error.message, 'attempt 3 of x failed');
    assert.match(dead.error.stack ?? '', /flaky/);
    assert.equal(readJsonl(c.output).length, 0);
  });

  test('a result JSON cannot write is a dead letter (serialization), not retried', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{}']);
    const c = config(dir, { input, task: 'bigint', retries: 3, retryDelayMs: 1 });
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Failures);
    assert.equal(s.retries, 0);
    const [dead] = readJsonl<DeadLine>(c.dlq);
    assert.equal(dead?.error.code, 'ERR_SLUICE_SERIALIZATION');
    assert.match(dead.error.message, /output of task "bigint" cannot be written as JSON/);
    assert.equal(dead.attempts, 1);
  });

  test('a plain Error is dead-lettered without a code (ERR_SLUICE_TASK_FAILED is for thrown non-Errors)', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{"message":"plain"}', '{"value":"a string"}']);
    const c = config(dir, { input, task: 'throws', ordered: true });
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Failures);
    const dead = readJsonl<DeadLine>(c.dlq);
    assert.deepEqual(
      dead.map((d) => [d.error.name, d.error.code]),
      [
        ['Error', undefined],
        ['TaskFailedError', 'ERR_SLUICE_TASK_FAILED'],
      ],
    );
    assert.match(dead[1]?.error.message ?? '', /threw a non-Error value/);
  });
});

describe('sluice run: blocks', () => {
  test('a line that kills its worker takes no other line with it: its block runs again line by line, and only it is dead-lettered', async (t) => {
    const dir = tempDir(t);
    const N = 400;
    const lines = Array.from({ length: N }, (_, i) => JSON.stringify(i + 1 === 250 ? { n: i + 1, crash: true } : { n: i + 1 }));
    const input = writeLines(join(dir, 'in.jsonl'), lines);
    const c = config(dir, { input, task: 'crashy', size: 2, queue: 200, ordered: true });
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Failures);
    assert.equal(s.ok, N - 1);
    assert.equal(s.dead, 1);
    const out = readJsonl<OutLine>(c.output);
    assert.deepEqual(
      out.map((o) => o.line),
      Array.from({ length: N }, (_, i) => i + 1).filter((l) => l !== 250),
      'every other line once, in order',
    );
    for (const o of out) assert.equal(o.result, o.line * 2);
    const [dead] = readJsonl<DeadLine>(c.dlq);
    assert.equal(dead?.line, 250);
    assert.equal(dead.error.code, 'ERR_SLUICE_WORKER_CRASHED');
    // The pool ran a block of lines; the record names the task the user asked for.
    assert.match(dead.error.message, /while running "crashy"$/);
    assert.doesNotMatch(dead.error.stack ?? '', /__sluice/);
    assert.equal(dead.attempts, 1);
  });
});

describe('sluice run: --timeout and blocks', () => {
  test('a line that hangs holds its block about --timeout, then times out alone', async (t) => {
    const dir = tempDir(t);
    const N = 300;
    const lines = Array.from({ length: N }, (_, i) => JSON.stringify(i + 1 === 200 ? { n: i + 1, hang: true } : { n: i + 1 }));
    const input = writeLines(join(dir, 'in.jsonl'), lines);
    const c = config(dir, { input, task: 'hangs', size: 2, queue: 200, timeoutMs: 300 });
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Failures);
    assert.equal(s.ok, N - 1);
    const [dead] = readJsonl<DeadLine>(c.dlq);
    assert.equal(dead?.line, 200);
    assert.equal(dead.error.code, 'ERR_SLUICE_TASK_TIMEOUT');
    assert.equal(new Set(readJsonl<OutLine>(c.output).map((o) => o.line)).size, N - 1);
  });
});

describe('sluice run: resume', () => {
  test('output past the last journal record (and a torn line) is dropped and redone: every line exactly once', async (t) => {
    const dir = tempDir(t);
    const N = 500;
    const input = writeLines(join(dir, 'in.jsonl'), [...numbers(N - 1), '{bad']);
    const c = config(dir, { input, task: 'double' });
    assert.equal((await runJob(c, io())).exitCode, ExitCode.Failures);
    // Simulate a crash: the journal knows only its first records (about 100 lines), the
    // output has every record plus half a line, the DLQ has its record though it is not journaled.
    const journal = readFileSync(c.journal, 'utf8').split('\n');
    let kept = 1;
    while (journaledLines(c.journal, journal.slice(0, kept)) < 100) kept++;
    const known = journaledLines(c.journal, journal.slice(0, kept));
    writeFileSync(c.journal, journal.slice(0, kept).join('\n') + '\n{"torn');
    appendFileSync(c.output, '{"line":4');
    const s = await runJob(c, io());
    assert.equal(s.exitCode, ExitCode.Failures);
    assert.equal(s.skipped, known);
    assert.equal(s.previousOk, known);
    const out = readJsonl<OutLine>(c.output);
    assert.equal(out.length, N - 1);
    assert.equal(new Set(out.map((o) => o.line)).size, N - 1);
    assert.deepEqual(
      readJsonl<DeadLine>(c.dlq).map((d) => d.line),
      [N],
    );
    // Once complete, running again does nothing and still reports the dead letter.
    const again = await runJob(c, io());
    assert.equal(again.skipped, N);
    assert.equal(again.ok + again.dead, 0);
    assert.equal(again.exitCode, ExitCode.Failures);
    assert.equal(readJsonl(c.output).length, N - 1);
  });

  test('a journal from another input is refused unless --fresh', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), numbers(3));
    const c = config(dir, { input });
    assert.equal((await runJob(c, io())).exitCode, ExitCode.Ok);
    appendFileSync(input, '{"n":4}\n');
    await assert.rejects(runJob(c, io()), { name: 'UsageError', message: /changed since/ });
    const s = await runJob({ ...c, fresh: true }, io());
    assert.equal(s.ok, 4);
    assert.equal(readJsonl(c.output).length, 4);
  });

  test('output shorter than its journal is refused', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), numbers(3));
    const c = config(dir, { input });
    await runJob(c, io());
    truncateSync(c.output, statSync(c.output).size - 5);
    await assert.rejects(runJob(c, io()), { name: 'UsageError', message: /shorter/ });
  });
});

describe('sluice run: interrupts (in-process)', () => {
  test('one interrupt drains in-flight lines and exits 130; a second run finishes the rest exactly once', async (t) => {
    const dir = tempDir(t);
    const gate = join(dir, 'gate');
    const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify(i < 5 ? { n: i + 1 } : { n: i + 1, gate }));
    const input = writeLines(join(dir, 'in.jsonl'), lines);
    const c = config(dir, { input, task: 'gated', queue: 4 });
    const rio = io();
    const run = runJob(c, rio);
    // Handshake: interrupt once the reader is blocked on the window (lines 6.. wait for the gate).
    await waitFor(() => journaledLines(c.journal) >= 4, 'lines 1-4 journaled');
    rio.interrupts.trigger();
    writeFileSync(gate, '');
    const s = await run;
    assert.equal(s.exitCode, ExitCode.Interrupted);
    assert.equal(s.interrupted, 'drain');
    assert.ok(s.read < 200 && s.read >= 5);
    assert.equal(s.ok, s.read, 'every line read was finished');
    const s2 = await runJob(c, io());
    assert.equal(s2.exitCode, ExitCode.Ok);
    assert.equal(s2.skipped, s.ok);
    const out = readJsonl<OutLine>(c.output);
    assert.equal(out.length, 200);
    assert.equal(new Set(out.map((o) => o.line)).size, 200);
  });
});

describe('sluice run: metrics', () => {
  test('--metrics serves Prometheus text from pool.stats() and the run counters while running', async (t) => {
    const dir = tempDir(t);
    const gate = join(dir, 'gate');
    const input = writeLines(join(dir, 'in.jsonl'), ['{"n":1}', JSON.stringify({ n: 2, gate })]);
    const c = config(dir, { input, task: 'gated', metrics: { host: '127.0.0.1', port: 0 } });
    const rio = io();
    const run = runJob(c, rio);
    await waitFor(() => /metrics on (\S+)/.test(rio.errText()), 'the metrics address');
    const url = (/metrics on (\S+)/.exec(rio.errText()) as RegExpExecArray)[1] as string;
    await waitFor(() => lineCount(c.output) >= 1, 'line 1 written');
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const body = await res.text();
    // The pool's series are sluice/prometheus's (one definition); a task carries a block of lines.
    assert.match(body, /# TYPE sluice_workers gauge/);
    assert.match(body, /sluice_tasks_running\{pool="sluice"\} 1\n/);
    assert.match(body, /# HELP sluice_queue_depth Tasks waiting in the queue/);
    assert.match(body, /sluice_cli_lines_total\{outcome="ok"\} 1\n/);
    assert.match(body, /sluice_cli_in_flight 1\n/);
    writeFileSync(gate, '');
    assert.equal((await run).exitCode, ExitCode.Ok);
  });

  test('a --metrics port in use is a usage error naming the address, and the pool is let go', async (t) => {
    const dir = tempDir(t);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const port = (taken.address() as AddressInfo).port;
    const c = config(dir, { input: writeLines(join(dir, 'in.jsonl'), ['{"n":1}']), task: 'double', metrics: { host: '127.0.0.1', port } });
    await assert.rejects(runJob(c, io()), (err: unknown) => {
      assert.ok(err instanceof UsageError, String(err));
      assert.match(err.message, new RegExp(`^cannot serve metrics on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
      return true;
    });
    // The output lock went with the run: the same command runs once the port is free.
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    assert.equal((await runJob({ ...c, metrics: undefined }, io())).exitCode, ExitCode.Ok);
  });
});
