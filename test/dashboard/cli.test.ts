/**
 * `--dashboard` on `sluice run` and `sluice serve`, in real processes: the
 * printed URL serves the job's page and frames (lines done, total, failures,
 * dead letters by line without their input); a busy port and bad flags are
 * usage errors (exit 2); a public address prints a warning.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { CLI_MAIN, tempDir, waitFor, writeLines } from '../helpers/cli.js';
import { REDIS_URL, SKIP_NO_REDIS, connectionOf, dropQueue, uniqueQueue } from '../helpers/redis.js';
import type { Frame } from '../../src/observability/dashboard/frame.js';

const CLI = fileURLToPath(CLI_MAIN);
const TASKS = fileURLToPath(new URL('./fixtures/dash-tasks.js', import.meta.url));

/** Starts the CLI; resolves with the child, its stderr so far, and the dashboard URL once printed. */
async function startCli(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; err: () => string; url: string; exited: Promise<unknown[]> }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: 'pipe' });
  let err = '';
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /dashboard on (http:\S+)/.exec(err);
      if (m !== null) resolve(m[1] as string);
    });
    void exited.then(() => reject(new Error(`exited before printing the dashboard URL: ${err}`)));
  });
  return { child, err: () => err, url, exited };
}

async function frameOf(url: string): Promise<Frame> {
  const res = await fetch(url.replace('/?', '/frame.json?'));
  assert.equal(res.status, 200);
  return (await res.json()) as Frame;
}

/** Reads the latest frame until `cond` holds (frames come once a second): a bounded poll of the process under test, not a sleep. */
async function frameWhen(url: string, cond: (f: Frame) => boolean, what: string): Promise<Frame> {
  for (let i = 0; i < 1500; i++) {
    const f = await frameOf(url);
    if (cond(f)) return f;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await frameOf(url))}`);
}

test('sluice run --dashboard: the printed URL shows the job (lines done, total, failures) and dead letters by line, without inputs', async (t) => {
  const dir = tempDir(t);
  const gate = join(dir, 'gate');
  const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ n: i + 1, hold: i >= 6, gate, fail: i === 2, secret: 'TOP-SECRET' }));
  const input = writeLines(join(dir, 'in.jsonl'), lines);
  const { child, err, url, exited } = await startCli(['run', TASKS, '-t', 'line', '-i', input, '-o', join(dir, 'out.jsonl'), '--size', '4', '--progress', 'none', '--dashboard']);
  t.after(() => child.kill('SIGKILL'));
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
  assert.equal((await fetch(url.replace(/\?token=.*/, ''))).status, 401);
  // Six lines finish (one of them failing); four wait on the gate.
  const frame = await frameWhen(url, (f) => f.job?.done === 6, 'six lines done on the dashboard');
  assert.equal(frame.job?.total, 10);
  assert.equal(frame.job?.failed, 1);
  assert.equal(frame.pool.kind, 'thread');
  assert.deepEqual(
    frame.deadLetters.map((d) => [d.line, d.code, d.message]),
    [[3, 'E_DASH_LINE', 'line 3 refused']],
  );
  assert.ok(!JSON.stringify(frame).includes('TOP-SECRET'), 'no input on the page without --dashboard-show-data');
  const page = await (await fetch(url)).text();
  assert.match(page, /<title>sluice run line<\/title>/);
  writeFileSync(gate, '');
  const [code] = await exited;
  assert.equal(code, 1, err());
});

test('sluice run --dashboard-show-data shows the inputs of dead letters', async (t) => {
  const dir = tempDir(t);
  const gate = join(dir, 'gate');
  const input = writeLines(join(dir, 'in.jsonl'), [JSON.stringify({ n: 1, fail: true, secret: 'VISIBLE' }), JSON.stringify({ n: 2, hold: true, gate })]);
  const { child, url, exited } = await startCli(['run', TASKS, '-t', 'line', '-i', input, '-o', join(dir, 'out.jsonl'), '--size', '2', '--progress', 'none', '--dashboard', '127.0.0.1:0', '--dashboard-show-data']);
  t.after(() => child.kill('SIGKILL'));
  const frame = await frameWhen(url, (f) => f.deadLetters.length > 0, 'a dead letter');
  assert.equal(frame.showData, true);
  assert.match(frame.deadLetters[0]?.input ?? '', /VISIBLE/);
  writeFileSync(gate, '');
  await exited;
});

test('a busy dashboard port is a usage error (exit 2) that names the address', async (t) => {
  const dir = tempDir(t);
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => busy.close());
  const port = (busy.address() as AddressInfo).port;
  const input = writeLines(join(dir, 'in.jsonl'), ['{"n":1}']);
  const r = spawnSync(process.execPath, [CLI, 'run', TASKS, '-t', 'line', '-i', input, '-o', join(dir, 'out.jsonl'), '--progress', 'none', '--dashboard', `127.0.0.1:${port}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`--dashboard: cannot serve the dashboard on 127\\.0\\.0\\.1:${port}: the address is in use \\(EADDRINUSE\\); pick another port, or 0 for a free one`));
});

test('--dashboard 0.0.0.0:0 is allowed, with a warning that the token is the only guard', (t) => {
  const dir = tempDir(t);
  const input = writeLines(join(dir, 'in.jsonl'), ['{"n":1}']);
  const r = spawnSync(process.execPath, [CLI, 'run', TASKS, '-t', 'line', '-i', input, '-o', join(dir, 'out.jsonl'), '--progress', 'none', '--dashboard', '0.0.0.0:0'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: the dashboard listens on 0\.0\.0\.0, reachable from the network; the token in its URL is the only guard/);
  assert.match(r.stderr, /dashboard on http:\/\/0\.0\.0\.0:\d+\/\?token=/);
});

test('bad dashboard flags are usage errors', (t) => {
  const dir = tempDir(t);
  const input = writeLines(join(dir, 'in.jsonl'), ['{"n":1}']);
  const base = ['run', TASKS, '-t', 'line', '-i', input, '-o', join(dir, 'out.jsonl'), '--progress', 'none'];
  for (const [extra, message] of [
    [['--dashboard-show-data'], /--dashboard-show-data needs --dashboard/],
    [['--dashboard', 'somewhere'], /--dashboard takes an optional host:port \(e\.g\. 127\.0\.0\.1:8080\) or a port, got "somewhere"/],
    [['--dashboard', '127.0.0.1:99999'], /--dashboard takes an optional host:port/],
  ] as const) {
    const r = spawnSync(process.execPath, [CLI, ...base, ...extra], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

describe('sluice serve --dashboard', { skip: SKIP_NO_REDIS }, () => {
  test('serves the page of the served pool; a job that fails for good shows as a dead letter by job id', async (t) => {
    const queue = uniqueQueue('dashboard');
    t.after(() => dropQueue(queue));
    const { child, err, url, exited } = await startCli(['serve', TASKS, '--queue', queue, '--redis', REDIS_URL, '--size', '2', '--dashboard']);
    t.after(() => child.kill('SIGKILL'));
    await waitFor(() => err().includes('sluice serve: ready'), 'serve ready');
    const q = new Queue(queue, { connection: connectionOf(REDIS_URL) });
    t.after(() => q.close());
    await q.add('line', { n: 1 });
    const failing = await q.add('line', { n: 2, fail: true, secret: 'TOP-SECRET' });
    const frame = await frameWhen(url, (f) => f.counters.completed >= 1 && f.deadLetters.length > 0, 'a completed job and a dead letter');
    assert.equal(frame.pool.kind, 'thread');
    assert.equal(frame.counters.completed, 1);
    assert.deepEqual(
      frame.deadLetters.map((d) => [d.jobId, d.code, d.message]),
      [[failing.id, 'E_DASH_LINE', 'line 2 refused']],
    );
    assert.ok(!JSON.stringify(frame).includes('TOP-SECRET'));
    child.kill('SIGTERM');
    assert.equal((await exited)[0], 0, err());
  });
});
