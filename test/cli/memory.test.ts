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
import { CLI_MAIN, TASKS_URL, lineCount, tempDir } from '../helpers/cli.js';

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
