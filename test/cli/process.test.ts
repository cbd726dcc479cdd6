/** `sluice` as a real child process: exit codes, help, signals, SIGKILL and resume. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { CLI_MAIN, TASKS_URL, journaledLines, lineCount, readJsonl, tempDir, waitFor, writeLines } from '../helpers/cli.js';

const TASKS = fileURLToPath(TASKS_URL);

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Started {
  child: ChildProcess;
  done: Promise<Exit>;
  stderr(): string;
}

const stderrOf = (s: Started): string => s.stderr();

function start(args: string[], cwd?: string): Started {
  const child = spawn(process.execPath, [fileURLToPath(CLI_MAIN), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, done, stderr: () => stderr };
}

const sluice = (args: string[], cwd?: string): Promise<Exit> => start(args, cwd).done;

/** Lines 1..`open` finish at once; the rest wait for the gate file. */
function gatedInput(dir: string, total: number, open: number): { input: string; gate: string } {
  const gate = join(dir, 'gate');
  const lines = Array.from({ length: total }, (_, i) => JSON.stringify(i < open ? { n: i + 1 } : { n: i + 1, gate }));
  return { input: writeLines(join(dir, 'in.jsonl'), lines), gate };
}

function assertExactlyOnce(output: string, total: number): void {
  const out = readJsonl<{ line: number; result: number }>(output);
  const lines = out.map((o) => o.line).sort((a, b) => a - b);
  assert.deepEqual(
    lines,
    Array.from({ length: total }, (_, i) => i + 1),
  );
  for (const o of out) assert.equal(o.result, o.line);
}

describe('sluice CLI: usage and exit codes', () => {
  test('--help and run --help print usage with examples (exit 0)', async () => {
    const top = await sluice(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /Usage: sluice/);
    assert.match(top.stdout, /run \[options\] <module>/);
    const run = await sluice(['run', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--retries <n>/);
    assert.match(run.stdout, /Examples:/);
    assert.match(run.stdout, /Exit codes:/);
  });

  test('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await sluice(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
  });

  test("-i - reads the process's stdin, through a real pipe, to its end", async (t) => {
    const dir = tempDir(t);
    const output = join(dir, 'out.jsonl');
    const child = spawn(process.execPath, [fileURLToPath(CLI_MAIN), 'run', TASKS, '-t', 'double', '-i', '-', '-o', output, '--progress', 'none'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    for (let i = 1; i <= 2000; i++) child.stdin.write(`{"n":${i}}\n`);
    child.stdin.end();
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0, stderr);
    assert.match(stderr, /2000 read: 2000 ok/);
    const results = readJsonl<{ line: number; result: number }>(output);
    assert.equal(results.length, 2000);
    for (const r of results) assert.equal(r.result, r.line * 2);
  });

  test('usage errors exit 2: no arguments, bad flags, missing module, unknown task', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{"n":1}']);
    const out = join(dir, 'out.jsonl');
    const cases: [string[], RegExp][] = [
      [[], /Usage: sluice/],
      [['run', TASKS, '-i', input, '-o', out], /required option '-t, --task <name>'/],
      [['run', TASKS, '-t', 'echo', '-i', input, '-o', out, '--size', '0'], /--size must be a positive integer or "auto", got "0"/],
      [['run', TASKS, '-t', 'echo', '-i', input, '-o', out, '--queue', 'x'], /--queue must be an integer of at least 1/],
      [['run', TASKS, '-t', 'echo', '-i', input, '-o', out, '--metrics', 'nope'], /--metrics must be host:port/],
      [['run', TASKS, '-t', 'echo', '-i', input, '-o', out, '--kind', 'fiber'], /Allowed choices are thread, process, async/],
      [['run', TASKS, '-t', 'echo', '-i', input, '-o', out, '--bogus'], /unknown option '--bogus'/],
      [['run', 'no-such-module.js', '-t', 'echo', '-i', input, '-o', out], /module no-such-module.js not found/],
      [['run', TASKS, '-t', 'echo', '-i', join(dir, 'missing.jsonl'), '-o', out], /input .* not found/],
      [['run', TASKS, '-t', 'nope', '-i', input, '-o', out], /unknown task "nope".*exports: .*echo/],
    ];
    for (const [args, message] of cases) {
      const r = await sluice(args, dir);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test('a module path is resolved against the current directory', async (t) => {
    const dir = tempDir(t);
    writeLines(join(dir, 'in.jsonl'), ['{"n":1}']);
    const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
    const r = await sluice(['run', './cli-tasks.js', '-t', 'double', '-i', join(dir, 'in.jsonl'), '-o', join(dir, 'out.jsonl'), '--progress', 'none'], fixtures);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readJsonl(join(dir, 'out.jsonl')), [{ line: 1, ok: true, result: 2 }]);
    assert.match(r.stderr, /sluice run: done/);
  });

  test('a module that fails to load exits 3', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{}']);
    // Written here, not a fixture: the test runner would import a fixture that throws.
    const broken = join(dir, 'broken.mjs');
    writeFileSync(broken, "export function never() { return 1; }\nthrow new Error('this module is broken on purpose');\n");
    const r = await sluice(['run', broken, '-t', 'never', '-i', input, '-o', join(dir, 'out.jsonl')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /broken on purpose/);
  });

  test('exit 1 when a line ends in the dead-letter file', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{"n":1}', 'not json']);
    const out = join(dir, 'out.jsonl');
    const r = await sluice(['run', TASKS, '-t', 'double', '-i', input, '-o', out, '--progress', 'plain']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /1 ok, 1 dead-lettered \(1 bad JSON\)/);
    assert.deepEqual(
      readJsonl<{ line: number }>(`${out}.dlq.jsonl`).map((d) => d.line),
      [2],
    );
  });

  test('--kind process and --kind async run the same module (process workers; in-process tasks)', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{"id":"a","n":1}', '{"id":"b","n":2}']);
    for (const kind of ['process', 'async']) {
      const out = join(dir, `out-${kind}.jsonl`);
      const r = await sluice(['run', TASKS, '-t', 'echo', '-i', input, '-o', out, '--kind', kind, '--ordered']);
      assert.equal(r.code, 0, r.stderr);
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; id: string; ok: boolean });
      assert.deepEqual(lines.map((l) => [l.line, l.id, l.ok]), [[1, 'a', true], [2, 'b', true]], kind);
    }
    const bad = await sluice(['run', TASKS, '-t', 'echo', '-i', input, '-o', join(dir, 'x.jsonl'), '--kind', 'fiber']);
    assert.equal(bad.code, 2, bad.stderr);
  });
});

describe('sluice CLI: signals and resume', () => {
  const TOTAL = 300;

  test('killed with SIGKILL midway, the same command again leaves every line in the output exactly once', async (t) => {
    const dir = tempDir(t);
    const { input, gate } = gatedInput(dir, TOTAL, 20);
    const out = join(dir, 'out.jsonl');
    const args = ['run', TASKS, '-t', 'gated', '-i', input, '-o', out, '--size', '2', '--queue', '8', '--progress', 'none'];
    const first = start(args);
    // Wait for the journal (header + at least one record), not just the output:
    // output lines that are not journaled yet are redone on resume, by design.
    await waitFor(() => lineCount(out) >= 10 && journaledLines(`${out}.journal`) >= 1, 'the first run to write and journal lines');
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.code, null);
    const before = lineCount(out);
    assert.ok(before < TOTAL);
    writeFileSync(gate, '');
    const second = await sluice(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /already done/);
    assertExactlyOnce(out, TOTAL);
  });

  test('SIGINT drains in-flight lines, prints the summary and exits 130; resuming completes exactly once', async (t) => {
    const dir = tempDir(t);
    const { input, gate } = gatedInput(dir, TOTAL, 20);
    const out = join(dir, 'out.jsonl');
    const args = ['run', TASKS, '-t', 'gated', '-i', input, '-o', out, '--size', '2', '--queue', '8', '--progress', 'none'];
    const first = start(args);
    // Lines 1-18 are done (blocks hold at most window / (2 × size) = 2 lines, so
    // no block of them waits with line 21), and the reader is blocked on the
    // window (lines 21.. wait for the gate).
    await waitFor(() => journaledLines(`${out}.journal`) >= 18, 'the first 18 lines to be journaled');
    first.child.kill('SIGINT');
    // The interrupt is handled (the summary cannot print before the in-flight lines finish), then they finish.
    writeFileSync(gate, '');
    const r = await first.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted; in-flight lines finished/);
    const done = lineCount(out);
    assert.ok(done >= 18 && done < TOTAL, `${done} lines done`);
    // A graceful stop journals everything it wrote.
    assert.equal(journaledLines(`${out}.journal`), done);
    const second = await sluice(args);
    assert.equal(second.code, 0, second.stderr);
    assertExactlyOnce(out, TOTAL);
  });

  test('a second SIGINT stops at once (workers terminated) and leaves a consistent journal', async (t) => {
    const dir = tempDir(t);
    const { input, gate } = gatedInput(dir, TOTAL, 20);
    const out = join(dir, 'out.jsonl');
    const args = ['run', TASKS, '-t', 'gated', '-i', input, '-o', out, '--size', '2', '--queue', '8', '--progress', 'none'];
    const first = start(args);
    await waitFor(() => journaledLines(`${out}.journal`) >= 18, 'the first 18 lines to be journaled');
    first.child.kill('SIGINT');
    // Handshake: the child reports the first interrupt before the second is sent (two pending
    // SIGINTs would merge into one); the gated lines never finish on their own.
    await waitFor(() => stderrOf(first).includes('interrupt again to stop now'), 'the drain to begin');
    first.child.kill('SIGINT');
    const r = await first.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /forced by a second interrupt/);
    // What was written is what was journaled: the gated lines are left for the next run.
    const done = lineCount(out);
    assert.ok(done >= 18 && done <= 20, `${done} lines done`);
    assert.equal(journaledLines(`${out}.journal`), done);
    writeFileSync(gate, '');
    const second = await sluice(args);
    assert.equal(second.code, 0, second.stderr);
    assertExactlyOnce(out, TOTAL);
  });
});

describe('sluice CLI: errors a person understands (one line, exit 2 or 3)', () => {
  test('a missing output directory is a usage error naming the directory', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{"n":1}']);
    const r = await sluice(['run', TASKS, '-t', 'echo', '-i', input, '-o', join(dir, 'nowhere', 'out.jsonl')]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `sluice: --output ${join(dir, 'nowhere', 'out.jsonl')}: directory ${join(dir, 'nowhere')} does not exist; create it first\n`);
  });

  test('a size above the bound of its kind is refused, saying why and how to override', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{"n":1}']);
    const r = await sluice(['run', TASKS, '-t', 'echo', '-i', input, '-o', join(dir, 'out.jsonl'), '--size', '10000']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^sluice: --size 10000 is more than \d+ thread workers: each worker is a V8 isolate .*--allow-large-size if you mean it\n$/);
    const async = await sluice(['run', TASKS, '-t', 'echo', '-i', input, '-o', join(dir, 'out.jsonl'), '--size', '10000', '--kind', 'async', '--progress', 'none']);
    assert.equal(async.code, 0, async.stderr);
  });

  test('a syntax error names file:line:column, even in a module the task module imports (exit 3)', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{}']);
    writeFileSync(join(dir, 'helper.mjs'), 'export function f(x) {\n  return x +* 2;\n}\n');
    writeFileSync(join(dir, 'tasks.mjs'), "import { f } from './helper.mjs';\nexport function run(x) { return f(x); }\n");
    for (const kind of ['thread', 'async']) {
      const r = await sluice(['run', join(dir, 'tasks.mjs'), '-t', 'run', '-i', input, '-o', join(dir, 'out.jsonl'), '--kind', kind]);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stderr, `sluice: syntax error in ${join(dir, 'helper.mjs')}:2:13: Unexpected token '*'\n`, kind);
    }
  });

  test('a .ts module without a loader says to run with --import tsx (exit 3)', { skip: (process.features as { typescript?: unknown }).typescript ? 'this Node runs TypeScript itself' : false }, async (t) => {
    const dir = tempDir(t);
    const input = writeLines(join(dir, 'in.jsonl'), ['{}']);
    writeFileSync(join(dir, 'tasks.ts'), 'export function run(x: unknown): unknown { return x; }\n');
    const r = await sluice(['run', join(dir, 'tasks.ts'), '-t', 'run', '-i', input, '-o', join(dir, 'out.jsonl')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^sluice: cannot load .*tasks\.ts: Node runs TypeScript only through a loader; .*--import tsx.*\n$/);
  });

  test('a second run on a locked output is refused; a stale lock (its pid gone) is taken over with a note', async (t) => {
    const dir = tempDir(t);
    const { input, gate } = gatedInput(dir, 30, 5);
    const out = join(dir, 'out.jsonl');
    const args = ['run', TASKS, '-t', 'gated', '-i', input, '-o', out, '--size', '1', '--progress', 'none'];
    const first = start(args);
    await waitFor(() => lineCount(out) >= 1, 'the first run to hold the lock and write');
    const second = await sluice(args);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`^sluice: output .*out\\.jsonl is locked by another sluice run \\(pid ${first.child.pid}, lock file .*out\\.jsonl\\.lock\\); wait for it to finish, or stop it\\n$`));
    first.child.kill('SIGKILL');
    await first.done;
    // The lock is left behind with a dead pid: the next run takes it over, and resumes.
    assert.match(readFileSync(`${out}.lock`, 'utf8'), new RegExp(`"pid":${first.child.pid}`));
    writeFileSync(gate, '');
    const third = await sluice(args);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, new RegExp(`^sluice: taking over the stale lock .*out\\.jsonl\\.lock \\(pid ${first.child.pid} is gone\\)$`, 'm'));
    assertExactlyOnce(out, 30);
    assert.equal(existsSync(`${out}.lock`), false, 'the lock is released at the end');
  });
});
