/**
 * Several `sluice serve` processes share one queue on the real Redis: a
 * thousand jobs each run exactly once with every result delivered; a server
 * killed with SIGKILL mid-run loses nothing (its jobs run again elsewhere
 * after the stall interval: at-least-once).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { createClient } from '../../src/bullmq/index.js';
import { REDIS_URL, SKIP_NO_REDIS, testQueue, until } from '../helpers/redis.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TASKS = fileURLToPath(new URL('../fixtures/bullmq-tasks.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-bullmq-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface ServeProc {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
  stderr(): string;
}

function startServe(queue: string, extra: string[] = []): ServeProc {
  const child = spawn(process.execPath, [CLI, 'serve', TASKS, '--queue', queue, '--redis', REDIS_URL, '--size', '2', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('sluice serve: ready')) resolve();
    });
    void exited.then((code) => reject(new Error(`sluice serve exited (${code}) before ready: ${err}`)));
  });
  return { child, ready, exited, stderr: () => err };
}

function runs(log: string): Map<number, string[]> {
  const m = new Map<number, string[]>();
  if (!existsSync(log)) return m;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line === '') continue;
    const [id, pid] = line.split(' ') as [string, string];
    const list = m.get(Number(id)) ?? [];
    list.push(pid);
    m.set(Number(id), list);
  }
  return m;
}

describe('sluice serve processes sharing a queue', { skip: SKIP_NO_REDIS }, () => {
  test('two servers, a thousand jobs: each runs exactly once, every result is delivered, both servers take part', async () => {
    const queue = testQueue('pair');
    const log = join(dir, 'pair.log');
    const a = startServe(queue);
    const b = startServe(queue);
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      await Promise.all([a.ready, b.ready]);
      const handles = await Promise.all(Array.from({ length: 1000 }, (_, id) => client.submit<number>('logged', { id, log })));
      const out = await Promise.all(handles.map((h) => h.result()));
      assert.deepEqual(out, Array.from({ length: 1000 }, (_, id) => id * 2));
      const r = runs(log);
      assert.equal(r.size, 1000);
      for (const [id, pids] of r) assert.equal(pids.length, 1, `job ${id} ran ${pids.length} times`);
      const pids = new Set([...r.values()].flat());
      assert.deepEqual([...pids].sort(), [String(a.child.pid), String(b.child.pid)].sort(), 'both servers ran jobs');
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      assert.equal(await a.exited, 0, a.stderr());
      assert.equal(await b.exited, 0, b.stderr());
      assert.match(a.stderr(), /SIGTERM: draining/);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await client.close();
    }
  });

  test('a server killed with SIGKILL mid-run: its jobs are taken back after the stall interval and every job completes (at-least-once)', async () => {
    const queue = testQueue('kill');
    const log = join(dir, 'kill.log');
    const gate = join(dir, 'kill.gate');
    const fast = ['--lock-duration', '1000', '--stalled-interval', '300'];
    const a = startServe(queue, fast);
    const b = startServe(queue, fast);
    const client = createClient({ connection: REDIS_URL, queue });
    try {
      await Promise.all([a.ready, b.ready]);
      // Four held jobs for two servers of size 2: each holds exactly two.
      const held = await Promise.all([0, 1, 2, 3].map((id) => client.submit<number>('hold', { id, log, gate })));
      await until('four held jobs running', () => [...runs(log).values()].flat().length === 4);
      const onA = [...runs(log)].filter(([, p]) => p[0] === String(a.child.pid)).map(([id]) => id);
      assert.equal(onA.length, 2, 'server A holds two jobs');
      a.child.kill('SIGKILL');
      assert.equal(await a.exited, null);
      writeFileSync(gate, '');
      const rest = await Promise.all(Array.from({ length: 46 }, (_, i) => client.submit<number>('logged', { id: 4 + i, log })));
      const out = await Promise.all([...held, ...rest].map((h) => h.result()));
      assert.deepEqual(out, Array.from({ length: 50 }, (_, id) => id * 2));
      const r = runs(log);
      for (const id of onA) assert.deepEqual(r.get(id), [String(a.child.pid), String(b.child.pid)], `job ${id}: started on A, run again on B`);
      b.child.kill('SIGTERM');
      assert.equal(await b.exited, 0, b.stderr());
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await client.close();
    }
  });
});
