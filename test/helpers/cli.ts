/** Shared helpers of the CLI tests: temp dirs, JSONL files, configs. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Interrupts } from '../../src/cli/interrupts.js';
import type { RunConfig } from '../../src/cli/run/run-config.js';
import type { RunIO } from '../../src/cli/run/runner.js';

export const TASKS_URL = new URL('../fixtures/cli-tasks.js', import.meta.url).href;
export const CLI_MAIN = new URL('../../src/cli/main.js', import.meta.url);

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeLines(path: string, lines: readonly string[]): string {
  writeFileSync(path, lines.map((l) => l + '\n').join(''));
  return path;
}

export function readJsonl<T = Record<string, unknown>>(path: string): T[] {
  const text = readFileSync(path, 'utf8');
  return text.length === 0 ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l) as T);
}

export function config(dir: string, over: Partial<RunConfig> & { input: string }): RunConfig {
  const output = over.output ?? join(dir, 'out.jsonl');
  return {
    moduleUrl: TASKS_URL,
    task: 'echo',
    output,
    dlq: `${output}.dlq.jsonl`,
    journal: `${output}.journal`,
    kind: 'thread',
    size: 2,
    queue: 8,
    retries: 0,
    retryDelayMs: 0,
    timeoutMs: undefined,
    metrics: undefined,
    ordered: false,
    fresh: false,
    progress: 'none',
    statusIntervalMs: 5000,
    ...over,
  };
}

export function io(interrupts = new Interrupts()): RunIO & { interrupts: Interrupts; errText(): string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString()));
  return { stdin: Readable.from([]), stderr, interrupts, errText: () => text };
}

/** Lines in a file (0 if absent). */
export function lineCount(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, 'utf8');
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Polls `cond` in a bounded loop: a handshake with a child or a worker, never a proof by sleeping. */
export async function waitFor(cond: () => boolean, what: string, tries = 3000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Lines a `sluice run` journal records as finished (0 if absent): the sum of
 * its block records' counts (`<first> <count> <ok> <dead> <outBytes> <dlqBytes>`).
 */
export function journaledLines(path: string, lines?: readonly string[]): number {
  if (lines === undefined && !existsSync(path)) return 0;
  let n = 0;
  for (const rec of (lines ?? readFileSync(path, 'utf8').split('\n')).slice(1)) {
    const m = /^\d+ (\d+) \d+ \d+ \d+ \d+$/.exec(rec);
    if (m !== null) n += Number(m[1]);
  }
  return n;
}
