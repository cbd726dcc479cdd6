/**
 * `sluice run --redis`: one batch executed by `sluice serve` processes on a
 * real Redis, with the coordinator's output, journal and exit codes those of
 * a local run. Servers and coordinators are child processes, killed with
 * SIGKILL where the test says so; every line must appear in the output
 * exactly once, with its correct value.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { serve } from '../../src/bullmq/index.js';
import { OwnRedis, REDIS_URL, SKIP_NO_REDIS, connectionOf, freePort, testQueue, until } from '../helpers/redis.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TASKS = fileURLToPath(new URL('../fixtures/bullmq-tasks.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));


interface Proc {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, stderr: () => err };
}

async function startServe(queue: string, redis = REDIS_URL, extra: string[] = []): Promise<Proc> {
  const p = start(['serve', TASKS, '--queue', queue, '--redis', redis, '--size', '2', '--lock-duration', '2000', '--stalled-interval', '500', ...extra]);
  await until('sluice serve ready', () => p.stderr().includes('sluice serve: ready') || p.child.exitCode !== null, 30_000);
  assert.ok(p.stderr().includes('sluice serve: ready'), p.stderr());
  return p;
}

function coordinator(queue: string, input: string, output: string, redis = REDIS_URL, extra: string[] = []): Proc {
  return start(['run', TASKS, '--task', 'square', '--input', input, '--output', output, '--redis', redis, '--redis-queue', queue, '--progress', 'plain', '--status-interval', '100', ...extra]);
}

function writeInput(name: string, n: number): string {
  const path = join(dir, name);
  writeFileSync(path, Array.from({ length: n }, (_, i) => JSON.stringify({ n: i, log: join(dir, `${name}.runs`) }) + '\n').join(''));
  return path;
}

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '') : [];
}

/** Asserts the output holds lines 1..n exactly once each, with n-1 squared... as the fixture computes. */
function assertExactlyOnce(output: string, n: number): void {
  const seen = new Map<number, number>();
  for (const l of lines(output)) {
    const rec = JSON.parse(l) as { line: number; ok: boolean; result: { sq: number } };
    assert.equal(rec.ok, true, l);
    assert.equal(rec.result.sq, (rec.line - 1) ** 2, `line ${rec.line}: ${l}`);
    seen.set(rec.line, (seen.get(rec.line) ?? 0) + 1);
  }
  const doubled = [...seen].filter(([, c]) => c > 1).map(([line]) => line);
  assert.deepEqual(doubled.slice(0, 10), [], 'no line twice');
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((l) => !seen.has(l));
  assert.deepEqual(missing.slice(0, 10), [], 'no line missing');
  assert.equal(seen.size, n);
}

/** How many times each line ran, from the fixture's execution log. */
function executions(input: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of lines(`${input}.runs`)) {
    const n = Number(l.split(' ')[0]);
    m.set(n, (m.get(n) ?? 0) + 1);
  }
  return m;
}


describe('sluice run --redis', { skip: SKIP_NO_REDIS }, () => {
  test('3 servers, 20,000 lines; one server and then the coordinator killed with SIGKILL; the rerun finishes: every line exactly once, correct', { timeout: 240_000 }, async () => {
    const queue = testQueue('run-big');
    const N = 20_000;
    const input = writeInput('big.jsonl', N);
    const output = join(dir, 'big.out.jsonl');
    const servers = await Promise.all([startServe(queue), startServe(queue), startServe(queue)]);
    let coord = coordinator(queue, input, output);
    try {
      await until('3 servers on the progress line', () => coord.stderr().includes('| 3 servers'), 30_000);
      await until('2,000 lines out', () => lines(output).length >= 2000, 120_000);
      servers[0].child.kill('SIGKILL');
      assert.equal(await servers[0].exited, null);
      await until('8,000 lines out', () => lines(output).length >= 8000, 120_000);
      coord.child.kill('SIGKILL');
      assert.equal(await coord.exited, null);
      coord = coordinator(queue, input, output);
      assert.equal(await coord.exited, 0, coord.stderr());
      assert.match(coord.stderr(), /resum/i, 'the rerun resumes');
      assertExactlyOnce(output, N);
      assert.deepEqual(lines(`${output}.dlq.jsonl`), []);
      const ran = executions(input);
      assert.equal(ran.size, N, 'every line ran');
      const again = [...ran.values()].filter((c) => c > 1).length;
      // Re-executions come from the killed server's jobs in hand (and any job a busy machine let stall): never from the coordinator's restart.
      assert.ok(again <= 20, `${again} lines ran more than once`);
    } finally {
      coord.child.kill('SIGKILL');
      for (const s of servers) s.child.kill('SIGKILL');
    }
  });

  test('a coordinator killed while no server runs: results that arrive while it is down are collected on restart, not recomputed; another run on the queue is refused meanwhile', { timeout: 120_000 }, async () => {
    const queue = testQueue('run-collect');
    const input = writeInput('collect.jsonl', 40);
    const output = join(dir, 'collect.out.jsonl');
    const q = new Queue(queue, { connection: connectionOf(REDIS_URL) });
    try {
      let coord = coordinator(queue, input, output, REDIS_URL, ['--size', '40']);
      await until('40 jobs waiting in Redis', async () => (await q.getWaitingCount()) + (await q.getPrioritizedCount()) === 40, 30_000);
      coord.child.kill('SIGKILL');
      await coord.exited;

      const other = coordinator(queue, writeInput('other.jsonl', 3), join(dir, 'other.out.jsonl'));
      assert.equal(await other.exited, 2);
      assert.match(other.stderr(), new RegExp(`queue "${queue}" is in use by another run \\(task "square" over ${input.replace(/[.]/g, '\\.')}`));

      const server = await startServe(queue);
      await until('40 jobs completed', async () => (await q.getCompletedCount()) === 40, 60_000);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);

      // No server runs now: the rerun can only collect.
      coord = coordinator(queue, input, output);
      assert.equal(await coord.exited, 0, coord.stderr());
      assertExactlyOnce(output, 40);
      assert.ok([...executions(input).values()].every((c) => c === 1), 'each line ran once');
      // The finished run released the queue: another run may use it.
      const next = coordinator(queue, writeInput('next.jsonl', 1), join(dir, 'next.out.jsonl'), REDIS_URL, ['--size', '1']);
      await until('the next run queued its line', async () => (await q.getWaitingCount()) + (await q.getPrioritizedCount()) === 1, 30_000);
      next.child.kill('SIGKILL');
      await next.exited;
    } finally {
      await q.close();
    }
  });

  test('Redis unreachable at start: exit 2 and one line saying so', async () => {
    const port = await freePort();
    const input = writeInput('unreachable.jsonl', 2);
    const p = coordinator('q-unreachable', input, join(dir, 'unreachable.out.jsonl'), `redis://user:hunter2@127.0.0.1:${port}`);
    assert.equal(await p.exited, 2);
    const text = p.stderr().trimEnd();
    assert.equal(text.split('\n').length, 1, text);
    assert.match(text, new RegExp(`cannot use Redis at redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(queue "q-unreachable"\\): .*ECONNREFUSED`));
    assert.ok(!text.includes('hunter2'), 'the password is not printed');
  });

  test('a username and password reach Redis (ACL user on a redis-server with requirepass); wrong ones: exit 2, one line', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'sesame'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve) => {
        let out = '';
        redis.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ready to accept connections')) resolve();
        });
      });
      const acl = spawnSync('redis-cli', ['-p', String(port), '-a', 'sesame', '--no-auth-warning', 'ACL', 'SETUSER', 'alice', 'on', '>wonderland', '~*', '&*', '+@all'], { encoding: 'utf8' });
      assert.equal(acl.stdout.trim(), 'OK', acl.stderr);
      const url = `redis://alice:wonderland@127.0.0.1:${port}`;
      const queue = 'auth-run';
      const server = await serve({ connection: `redis://:sesame@127.0.0.1:${port}`, queue, pool: { kind: 'async', size: 4, tasks: { square: (i: { n: number }) => ({ sq: i.n * i.n }) } } });
      try {
        const input = writeInput('auth.jsonl', 100);
        const output = join(dir, 'auth.out.jsonl');
        const ok = coordinator(queue, input, output, url);
        assert.equal(await ok.exited, 0, ok.stderr());
        assertExactlyOnce(output, 100);

        const bad = coordinator(queue, input, join(dir, 'auth-bad.out.jsonl'), `redis://alice:wrong@127.0.0.1:${port}`);
        assert.equal(await bad.exited, 2);
        const text = bad.stderr().trimEnd();
        assert.equal(text.split('\n').length, 1, text);
        assert.match(text, /cannot use Redis at redis:\/\/alice:\*\*\*@127\.0\.0\.1:\d+ \(queue "auth-run"\): WRONGPASS/);
      } finally {
        await server.close({ timeoutMs: 2000 });
      }
    } finally {
      redis.kill('SIGKILL');
      await once(redis, 'exit').catch(() => undefined);
    }
  });

  test('Redis lost mid-run: the coordinator waits, says so on its progress line, and finishes when Redis is back', { timeout: 120_000 }, async () => {
    const redis = new OwnRedis();
    await redis.start();
    const queue = 'lost-run';
    const server = await serve({ connection: redis.url, queue, lockDurationMs: 2000, stalledIntervalMs: 500, pool: { kind: 'async', size: 2, tasks: { square: async (i: { n: number }) => {
      await new Promise((r) => setTimeout(r, 2)); // a task that takes a little time, so the run outlasts the outage's start
      return { sq: i.n * i.n };
    } } } });
    server.on('error', () => undefined);
    const input = writeInput('lost.jsonl', 500);
    const output = join(dir, 'lost.out.jsonl');
    const coord = coordinator(queue, input, output, redis.url);
    try {
      await until('50 lines out', () => lines(output).length >= 50, 60_000);
      await redis.stop();
      await until('the progress line says Redis is away', () => /Redis unavailable for [^|]*: waiting/.test(coord.stderr()), 30_000);
      await redis.start();
      assert.equal(await coord.exited, 0, coord.stderr());
      assertExactlyOnce(output, 500);
    } finally {
      coord.child.kill('SIGKILL');
      await server.close({ timeoutMs: 2000 });
      await redis.stop();
    }
  });

  test('what a line reports on its server (ctx.progress) reaches the coordinator\'s status line, naming the line', { timeout: 60_000 }, async () => {
    const queue = testQueue('run-progress');
    const progressTasks = fileURLToPath(new URL('../fixtures/cli-progress-tasks.js', import.meta.url));
    const server = start(['serve', progressTasks, '--queue', queue, '--redis', REDIS_URL, '--size', '2']);
    await until('sluice serve ready', () => server.stderr().includes('sluice serve: ready') || server.child.exitCode !== null, 30_000);
    const gate = join(dir, 'progress.gate');
    const input = join(dir, 'progress.jsonl');
    writeFileSync(input, [JSON.stringify({ n: 1 }), JSON.stringify({ n: 2, report: 0.75, gate })].join('\n') + '\n');
    const output = join(dir, 'progress.out.jsonl');
    const coord = start(['run', progressTasks, '--task', 'reports', '--input', input, '--output', output, '--redis', REDIS_URL, '--redis-queue', queue, '--progress', 'plain', '--status-interval', '50']);
    try {
      // Line 2 is still running on the server (held by its gate): the coordinator shows its report.
      await until('"line 2: 75%" on the coordinator\'s status line', () => / line 2: 75% /.test(coord.stderr()) || coord.child.exitCode !== null, 30_000);
      assert.match(coord.stderr(), / line 2: 75% /);
      writeFileSync(gate, '');
      assert.equal(await coord.exited, 0, coord.stderr());
      assert.deepEqual(lines(output).map((l) => (JSON.parse(l) as { line: number; result: number }).result).sort(), [1, 2]);
    } finally {
      writeFileSync(gate, '');
      coord.child.kill('SIGKILL');
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });
});
