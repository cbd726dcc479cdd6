/**
 * `sluice run` in bounded memory: a million lines under a 128 MB heap cap.
 * Without the bound (a reaction left per line on a promise that never
 * settled), this run died of heap exhaustion after a few hundred thousand
 * lines.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runJob } from '../../src/cli/run/runner.js';
import { RUNNER_YOUNG_MB } from '../../src/cli/run/runner-thread.js';
import { CLI_MAIN, TASKS_URL, config, io, lineCount, readJsonl, tempDir, writeLines } from '../helpers/cli.js';

const LINES = 1_000_000;

async function writeNumbers(path: string, n: number): Promise<void> {
  const ws = createWriteStream(path);
  let buf = '';
  for (let i = 1; i <= n; i++) {
    buf += `{"n":${i}}\n`;
    if (buf.length >= 1 << 16) {
      if (!ws.write(buf)) await once(ws, 'drain');
      buf = '';
    }
  }
  ws.end(buf);
  await once(ws, 'finish');
}

test('a million lines run under --max-old-space-size=128: memory does not grow with the input', async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'in.jsonl');
  const output = join(dir, 'out.jsonl');
  await writeNumbers(input, LINES);
  const child = spawn(
    process.execPath,
    ['--max-old-space-size=128', fileURLToPath(CLI_MAIN), 'run', fileURLToPath(TASKS_URL), '-t', 'double', '-i', input, '-o', output, '--size', '2', '--progress', 'none'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, stderr.slice(-2000));
  assert.match(stderr, new RegExp(`${LINES} read of ${LINES}: ${LINES} ok`));
  assert.equal(lineCount(output), LINES);
});

// The line workers' young generation is bounded (src/cli/run/executor.ts):
// left to V8, each worker's grows towards 48 MB over a long run.
for (const kind of ['thread', 'process'] as const) {
  test(`${kind} line workers run with a bounded young generation`, async (t) => {
    const dir = tempDir(t);
    const c = config(dir, { input: writeLines(join(dir, 'in.jsonl'), ['{}', '{}']), task: 'youngGeneration', kind, size: 1 });
    const s = await runJob(c, io());
    assert.equal(s.ok, 2);
    const records = readJsonl<{ result: { threadMb?: number; semiSpaceFlag?: string } }>(c.output);
    assert.equal(records.length, 2);
    for (const { result } of records) {
      if (kind === 'thread') assert.equal(result.threadMb, 8);
      else assert.equal(result.semiSpaceFlag, '--max-semi-space-size=3');
    }
  });
}

// The runner itself (read, split, send, write) runs on a thread with a
// bounded young generation (src/cli/run/runner-thread.ts): on the main
// thread, V8 grew it as a run went on, and peak RSS with it. `--kind async`
// runs tasks where the runner runs, so a task can look.
test('the runner of `sluice run` is a thread with a bounded young generation', async (t) => {
  const dir = tempDir(t);
  const input = writeLines(join(dir, 'in.jsonl'), ['{}']);
  const output = join(dir, 'out.jsonl');
  const child = spawn(process.execPath, [fileURLToPath(CLI_MAIN), 'run', fileURLToPath(TASKS_URL), '-t', 'youngGeneration', '--kind', 'async', '-i', input, '-o', output, '--progress', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, stderr);
  const [record] = readJsonl<{ result: { threadMb?: number } }>(output);
  assert.equal(record?.result.threadMb, RUNNER_YOUNG_MB);
});
