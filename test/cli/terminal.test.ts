/**
 * Ctrl-C on a real terminal: `sluice run` in a tmux pane (a pseudo-terminal
 * the test reads back as a screen). The interrupt message gets a line of its
 * own, whole, and the summary starts on a clean line: no progress-bar
 * leftovers mixed in. Skipped where tmux is not installed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CLI_MAIN, TASKS_URL, journaledLines, tempDir, waitFor, writeLines } from '../helpers/cli.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const WIDTH = 120;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

test('Ctrl-C under a terminal: the message on its own line, the summary on clean lines, the drain timed', { skip: hasTmux ? false : 'tmux is not installed' }, async (t) => {
  const dir = tempDir(t);
  const gate = join(dir, 'gate');
  const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify(i < 20 ? { n: i + 1 } : { n: i + 1, gate }));
  const input = writeLines(join(dir, 'in.jsonl'), lines);
  const out = join(dir, 'out.jsonl');
  const socket = `sluice-test-${process.pid}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  t.after(() => spawnSync('tmux', ['-L', socket, 'kill-server']));
  const cmd = [process.execPath, fileURLToPath(CLI_MAIN), 'run', fileURLToPath(TASKS_URL), '-t', 'gated', '-i', input, '-o', out, '--size', '2', '--queue', '8', '--progress', 'bar'].map(shellQuote).join(' ');
  // The pane stays after the command ends, so its last screen can be read.
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'run', '-x', String(WIDTH), '-y', '40', `${cmd}; echo "EXIT $?"; sleep 600`);
  const screen = (): string => tmux('capture-pane', '-p', '-t', 'run');
  await waitFor(() => journaledLines(`${out}.journal`) >= 18 && /lines \|/.test(screen()), 'the progress line and the first lines');
  tmux('send-keys', '-t', 'run', 'C-c');
  await waitFor(() => screen().includes('interrupt again to stop now'), 'the interrupt message');
  writeFileSync(gate, '');
  await waitFor(() => /EXIT \d+/.test(screen()), 'the run to end');
  const rows = screen().split('\n');
  const text = rows.join('\n');
  assert.match(text, /EXIT 130/);
  // The message is a line of its own, whole, from its first column.
  const msg = rows.find((r) => r.includes('interrupted; finishing'));
  assert.ok(msg !== undefined, text);
  assert.match(msg, /^sluice: interrupted; finishing \d+ in-flight lines \(interrupt again to stop now\)\s*$/, text);
  // The summary starts on its own line, and no line mixes the bar with anything else.
  const head = rows.findIndex((r) => r.startsWith('sluice run: interrupted; in-flight lines finished in '));
  assert.ok(head > 0, text);
  assert.match(rows[head] as string, /finished in [\d.]+(s|ms); run time [\d.]+s/);
  for (const r of rows) {
    if (/[█░]/.test(r)) assert.match(r, /^[█░]+ \d+(\/\d+)? lines \|/, `a line with bar leftovers: ${JSON.stringify(r)}\n${text}`);
  }
  // The progress line never wraps: it fits the pane.
  for (const r of rows) assert.ok(r.length <= WIDTH, r);
});
