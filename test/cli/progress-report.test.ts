/**
 * `sluice run` shows what a line's task reports with ctx.progress(): the
 * value travels from the line, through its block's task in the worker, to
 * the status line (plain and live), naming the line it came from.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { runJob } from '../../src/cli/run/runner.js';
import { formatReport, statusLine } from '../../src/cli/run/progress.js';
import { config, io, readJsonl, tempDir, waitFor, writeLines } from '../helpers/cli.js';

const TASKS = new URL('../fixtures/cli-progress-tasks.js', import.meta.url).href;

describe('sluice run: progress reported by the task', () => {
  for (const [kind, mode] of [['thread', 'plain'], ['process', 'plain'], ['async', 'plain'], ['thread', 'bar']] as const) {
    test(`${kind} workers, ${mode} display: the latest value a line reports is on the status line, with its line number`, async (t) => {
      const dir = tempDir(t);
      const gate = join(dir, 'gate');
      const input = writeLines(join(dir, 'in.jsonl'), [JSON.stringify({ n: 1 }), JSON.stringify({ n: 2, report: 0.75, gate })]);
      const c = config(dir, { input, moduleUrl: TASKS, task: 'reports', kind, size: 1, progress: mode, statusIntervalMs: 10 });
      const rio = io();
      const run = runJob(c, rio);
      // Line 2 is still running (held by its gate): what the display shows came from its report.
      await waitFor(() => / lines \| line 2: 75% \|/.test(rio.errText()), '"line 2: 75%" on the status line, next to the count');
      writeFileSync(gate, '');
      const s = await run;
      assert.equal(s.exitCode, ExitCode.Ok);
      assert.deepEqual(readJsonl<{ line: number; result: number }>(c.output).map((o) => [o.line, o.result]).sort(), [[1, 1], [2, 2]]);
    });
  }

  test('no report, no progress part: the status line is as before', async (t) => {
    const dir = tempDir(t);
    const gate = join(dir, 'gate');
    const input = writeLines(join(dir, 'in.jsonl'), [JSON.stringify({ n: 1, gate })]);
    const c = config(dir, { input, moduleUrl: TASKS, task: 'reports', size: 1, progress: 'plain', statusIntervalMs: 10 });
    const rio = io();
    const run = runJob(c, rio);
    await waitFor(() => rio.errText().split('\n').length > 3, 'a few status lines');
    writeFileSync(gate, '');
    assert.equal((await run).exitCode, ExitCode.Ok);
    assert.doesNotMatch(rio.errText(), /\| line \d+:/);
  });

  test('values are shown compactly: a fraction as a percentage, a string or another number as it is, anything else as JSON, cut short', () => {
    assert.equal(formatReport(0.5), '50%');
    assert.equal(formatReport(0.042), '4.2%');
    assert.equal(formatReport(1), '100%');
    assert.equal(formatReport(37), '37');
    assert.equal(formatReport('resizing\nimages'), 'resizing images');
    assert.equal(formatReport({ done: 3, of: 10 }), '{"done":3,"of":10}');
    assert.equal(formatReport({ stage: 'a rather long stage name' }), '{"stage":"a rather long…');
    assert.equal(formatReport({ stage: 'a rather long stage name' }).length, 24);
    assert.equal(formatReport(undefined), 'undefined');
    const line = statusLine({ done: 5, total: 10, rate: 2, failed: 0, p99Ms: 3, report: { line: 7, value: 0.25 } });
    assert.match(line, /^5\/10 lines \| line 7: 25% \| 2\.0\/s \| /);
  });
});
