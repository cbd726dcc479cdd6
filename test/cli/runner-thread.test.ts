/**
 * `sluice run` on its runner thread (src/cli/run/runner-thread.ts): what the
 * main thread lends the run (stdin, the terminal and its width, Ctrl-C)
 * reaches it, and what the run reports (stderr, its summary, the error it
 * threw, as the CLI's own classes) comes back.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { ModuleLoadFailure, UsageError } from '../../src/cli/exit-codes.js';
import { Interrupts } from '../../src/cli/interrupts.js';
import { runJobInThread, type RunnerIO } from '../../src/cli/run/runner-thread.js';
import { config, readJsonl, tempDir, waitFor, writeLines } from '../helpers/cli.js';

/** A stderr that says it is a terminal `columns` wide, and keeps what is written to it. */
function terminal(columns: number, interrupts = new Interrupts(), stdin: Readable = Readable.from([])): RunnerIO & { text(): string; stderr: PassThrough & { columns: number } } {
  const stderr = Object.assign(new PassThrough(), { isTTY: true, columns });
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString()));
  return { stdin, stderr, interrupts, text: () => text };
}

/** The status lines drawn in place: what follows each "clear the line" up to the next one or a newline. */
function drawn(text: string): string[] {
  return text
    .split('\r\x1b[K')
    .slice(1)
    .map((s) => s.split('\n')[0] as string)
    .filter((s) => s.includes('lines |'));
}

describe('sluice run: the runner thread', () => {
  test("the bar is drawn for the main thread's terminal, at its width, and follows a resize", async (t) => {
    const dir = tempDir(t);
    const gate = join(dir, 'gate');
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify(i < 5 ? { n: i + 1 } : { n: i + 1, gate }));
    const c = config(dir, { input: writeLines(join(dir, 'in.jsonl'), lines), task: 'gated', progress: 'auto' });
    const rio = terminal(30);
    const run = runJobInThread(c, rio);
    await waitFor(() => drawn(rio.text()).length > 0, 'a first status line');
    for (const line of drawn(rio.text())) assert.ok(line.length <= 29, `drawn wider than 30 columns: ${JSON.stringify(line)}`);
    rio.stderr.columns = 100;
    rio.stderr.emit('resize');
    await waitFor(() => drawn(rio.text()).some((l) => l.length > 29), 'a status line drawn at the new width');
    writeFileSync(gate, '');
    const s = await run;
    assert.equal(s.ok, 20);
    assert.equal(s.exitCode, 0);
    assert.equal(readJsonl(c.output).length, 20);
  });

  test("stdin is the main thread's, read through to its end", async (t) => {
    const dir = tempDir(t);
    const c = config(dir, { input: '-', task: 'double' });
    const stdin = Readable.from(Array.from({ length: 300 }, (_, i) => `{"n":${i + 1}}\n`));
    const s = await runJobInThread(c, terminal(80, new Interrupts(), stdin));
    assert.equal(s.ok, 300);
    const results = readJsonl<{ line: number; result: number }>(c.output).sort((a, b) => a.line - b.line);
    assert.deepEqual(
      results.map((r) => r.result),
      Array.from({ length: 300 }, (_, i) => (i + 1) * 2),
    );
  });

  test('an interrupt that came before the thread started is passed on: the run drains and says so', async (t) => {
    const dir = tempDir(t);
    const c = config(dir, { input: writeLines(join(dir, 'in.jsonl'), ['{"n":1}', '{"n":2}']), task: 'double' });
    const interrupts = new Interrupts();
    interrupts.trigger('SIGINT');
    const s = await runJobInThread(c, terminal(80, interrupts));
    assert.equal(s.interrupted, 'drain');
    assert.equal(s.exitCode, 130);
  });

  test("the run's errors come back as the CLI's classes, with their messages", async (t) => {
    const dir = tempDir(t);
    await assert.rejects(runJobInThread(config(dir, { input: join(dir, 'missing.jsonl') }), terminal(80)), (err: unknown) => {
      assert.ok(err instanceof UsageError, String(err));
      assert.match(err.message, /missing\.jsonl does not exist/);
      return true;
    });
    writeFileSync(join(dir, 'broken.mjs'), 'export function f(x) {\n  return x +* 2;\n}\n');
    const input = writeLines(join(dir, 'in.jsonl'), ['{}']);
    await assert.rejects(runJobInThread(config(dir, { input, moduleUrl: new URL(`file://${join(dir, 'broken.mjs')}`).href, task: 'f' }), terminal(80)), (err: unknown) => {
      assert.ok(err instanceof ModuleLoadFailure, String(err));
      assert.match(err.message, /broken\.mjs:2:13/);
      return true;
    });
  });
});
