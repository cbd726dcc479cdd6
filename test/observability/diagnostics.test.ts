import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { CHANNEL_NAMES } from '../../src/observability/diagnostics.js';
import { createPool } from '../../src/index.js';
import { ManualClock } from '../../src/testing.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procCpu, workerDiagnostics } from '../../src/observability/worker-diagnostics.js';
import { outcome, taskPool } from '../helpers/index.js';

/** Records every sluice event of one pool while `fn` runs. */
async function recordEvents(poolId: () => string, fn: () => Promise<void>): Promise<{ name: string; msg: Record<string, unknown> }[]> {
  const seen: { name: string; msg: Record<string, unknown> }[] = [];
  const subs = CHANNEL_NAMES.map((name) => [name, (m: unknown) => (m as { poolId?: string }).poolId === poolId() && seen.push({ name, msg: m as Record<string, unknown> })] as const);
  for (const [n, f] of subs) subscribe(n, f);
  try {
    await fn();
  } finally {
    for (const [n, f] of subs) unsubscribe(n, f);
  }
  return seen;
}

test('channels are declared once, named sluice:<subject>:<event>', () => {
  assert.equal(new Set(CHANNEL_NAMES).size, CHANNEL_NAMES.length);
  for (const n of CHANNEL_NAMES) assert.match(n, /^sluice:(task|worker|deadletter):[a-z-]+$/);
  for (const e of ['queued', 'dispatched', 'started', 'completed', 'failed', 'retried', 'dropped', 'dead-lettered', 'rejected']) assert.ok(CHANNEL_NAMES.includes(`sluice:task:${e}`), e);
  for (const e of ['spawned', 'ready', 'exited', 'recycled', 'stalled']) assert.ok(CHANNEL_NAMES.includes(`sluice:worker:${e}`), e);
});

test('a task publishes QUEUED → DISPATCHED → EXECUTING → COMPLETED, each with its correlation id', async () => {
  const pool = taskPool({ size: 1 });
  const events = await recordEvents(
    () => pool.id,
    async () => {
      await pool.run('inc', 1, { correlationId: 'req-1' });
      await assert.rejects(pool.run('fail', 'error', { correlationId: 'req-2' }));
      await pool.close();
    },
  );
  const of = (corr: string) => events.filter((e) => e.msg.correlationId === corr).map((e) => e.name.replace('sluice:', ''));
  assert.deepEqual(of('req-1'), ['task:queued', 'task:dispatched', 'task:started', 'task:completed']);
  assert.deepEqual(of('req-2'), ['task:queued', 'task:dispatched', 'task:started', 'task:dead-lettered', 'task:failed']);
  const completed = events.find((e) => e.name === 'sluice:task:completed')?.msg;
  assert.equal(completed?.task, 'inc');
  assert.equal(completed?.workerId, 1);
  assert.equal(typeof completed?.runMs, 'number');
  const failed = events.find((e) => e.name === 'sluice:task:failed')?.msg;
  assert.equal(failed?.reason, 'error');
  const workers = events.filter((e) => e.name.startsWith('sluice:worker:')).map((e) => e.name);
  assert.deepEqual(workers, ['sluice:worker:ready', 'sluice:worker:exited'], 'spawned happened before we subscribed');
  assert.equal(events.find((e) => e.name === 'sluice:worker:exited')?.msg.reason, 'close');
});

test('errors a task settles with carry its correlation id', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const r = await outcome(pool.run('fail', 'error', { correlationId: 'req-9' }));
    assert.ok(!r.ok);
    assert.equal((r.error as Error & { correlationId?: string }).correlationId, 'req-9');
    const refused = await outcome(pool.run('nope' as 'inc', 1, { correlationId: 'req-10' }));
    assert.ok(!refused.ok);
    assert.equal((refused.error as Error & { correlationId?: string }).correlationId, 'req-10');
  } finally {
    await pool.close();
  }
});

test('the logger option writes structured lines: transitions at debug, failures at warn, crashes at error', async () => {
  const lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const log = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const pool = taskPool({ size: 1, logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } });
  await pool.run('inc', 1, { correlationId: 'c-1' });
  await assert.rejects(pool.run('fail', 'error', { correlationId: 'c-2' }));
  await assert.rejects(pool.run('exit', 1, { correlationId: 'c-3' }));
  await pool.close();
  const completed = lines.find((l) => l.msg === 'task completed');
  assert.equal(completed?.level, 'debug');
  assert.equal(completed?.obj.correlationId, 'c-1');
  assert.equal(completed?.obj.state, 'COMPLETED');
  assert.equal(typeof completed?.obj.taskId, 'number');
  assert.equal(typeof completed?.obj.workerId, 'number');
  assert.equal(typeof completed?.obj.runMs, 'number');
  const failed = lines.find((l) => l.msg === 'task failed' && l.obj.correlationId === 'c-2');
  assert.equal(failed?.level, 'warn');
  assert.equal((failed?.obj.err as { code?: string }).code, 'E_BOOM');
  const died = lines.find((l) => l.msg === 'worker died');
  assert.equal(died?.level, 'error');
  assert.equal(died?.obj.code, 1);
  assert.ok(lines.every((l) => l.obj.pool === 'sluice'));
  assert.throws(() => taskPool({ logger: { info: () => undefined } as never }), /logger must be a pino-compatible logger/);
});

test('stats() reports wait and run percentiles from HDR histograms, and throughput over the window', async () => {
  const clock = new ManualClock();
  const pool = taskPool({ size: 2, clock, saturation: { sampleMs: 100, windowMs: 1000 } });
  try {
    await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run('inc', i)));
    clock.advance(100);
    const s = pool.stats();
    assert.equal(s.latency.run.count, 200);
    assert.equal(s.latency.wait.count, 200);
    for (const k of ['p50', 'p95', 'p99', 'p999', 'mean', 'max'] as const) assert.ok(s.latency.run[k] >= 0 && Number.isFinite(s.latency.run[k]), k);
    assert.ok(s.latency.run.p50 <= s.latency.run.p99 && s.latency.run.p99 <= s.latency.run.max);
    assert.equal(s.window.throughput, 2000, '200 tasks in one 100 ms sample');
    assert.deepEqual(s.workerList.map((w) => w.id).sort(), [1, 2]);
  } finally {
    await pool.close();
  }
});

test('latency-alarm fires when p99 stays above 2 × its baseline, and latency-normal when it recovers (injected clock)', async () => {
  const clock = new ManualClock();
  const pool = taskPool({ size: 1, pipeline: 1, clock, saturation: { sampleMs: 100, windowMs: 1000, afterMs: 200 } });
  const events: string[] = [];
  pool.on('latency-alarm', (e: { p99Ms: number; baselineMs: number }) => events.push(`alarm:${Math.round(e.p99Ms)}`));
  pool.on('latency-normal', () => events.push('normal'));
  const batch = async (delayMs: number) => {
    // Tasks submitted, then the clock moves before they complete: their latency is delayMs.
    const runs = Array.from({ length: 20 }, (_, i) => pool.run('inc', i));
    if (delayMs > 0) clock.advance(delayMs);
    await Promise.all(runs);
  };
  try {
    await pool.start();
    for (let i = 0; i < 4; i++) {
      await batch(10);
      clock.advance(90);
    }
    assert.deepEqual(events, [], 'baseline established at about 10 ms');
    for (let i = 0; i < 4; i++) {
      await batch(60);
      clock.advance(40);
    }
    assert.deepEqual(events, ['alarm:60']);
    for (let i = 0; i < 2; i++) {
      await batch(10);
      clock.advance(90);
    }
    assert.deepEqual(events, ['alarm:60', 'normal']);
  } finally {
    await pool.close();
  }
});

test('diagnostics(): per-worker heap, RSS, event-loop utilization; /proc figures for process workers', async () => {
  const threads = taskPool({ size: 2 });
  try {
    await threads.run('inc', 1);
    const d = await threads.diagnostics();
    assert.equal(d.workers.length, 2);
    assert.equal(d.live, 2);
    assert.equal(d.configured, 2);
    for (const w of d.workers) {
      assert.equal(w.kind, 'thread');
      assert.equal(w.reported, true);
      assert.ok((w.heapUsed ?? 0) > 0 && (w.heapTotal ?? 0) > 0 && (w.rss ?? 0) > 0);
      assert.ok(w.eventLoopUtilization !== undefined && w.eventLoopUtilization >= 0 && w.eventLoopUtilization <= 1);
      assert.equal(w.cpuUserMs, undefined, 'no per-thread CPU clock on Node 20');
    }
    if (process.platform === 'linux') assert.ok((d.process?.threads ?? 0) >= 2);
  } finally {
    await threads.close();
  }
  const procs = taskPool({ kind: 'process', size: 1 });
  try {
    await procs.run('inc', 1);
    const [w] = (await procs.diagnostics()).workers;
    assert.ok(w !== undefined && w.reported);
    assert.equal(typeof w.pid, 'number');
    assert.ok((w.cpuUserMs ?? -1) >= 0);
    if (process.platform === 'linux') {
      assert.ok((w.proc?.rss ?? 0) > 0);
      assert.ok((w.proc?.openFds ?? 0) > 0);
      assert.equal(typeof w.proc?.voluntaryContextSwitches, 'number');
      assert.equal(typeof w.proc?.involuntaryContextSwitches, 'number');
    }
  } finally {
    await procs.close();
  }
});

for (const kind of ['thread', 'process'] as const) {
  test(`diagnostics() of a worker stuck in a synchronous task: what the parent reads, and reported: false for the rest (${kind})`, async () => {
    const pool = taskPool({ kind, size: 1, timeoutMs: 5000 });
    try {
      // Started, by the pool's own event (a SharedArrayBuffer gate cannot reach a process).
      const started = new Promise<void>((resolve) => {
        const seen = (m: unknown): void => {
          if ((m as { poolId: string }).poolId !== pool.id) return;
          unsubscribe('sluice:task:started', seen);
          resolve();
        };
        subscribe('sluice:task:started', seen);
      });
      const spinning = outcome(pool.run('spin', undefined));
      await started;
      const d = await pool.diagnostics();
      assert.equal(d.workers.length, 1);
      const w = d.workers[0];
      assert.ok(w !== undefined);
      assert.equal(w.reported, false, 'a busy worker cannot answer; the call still settles');
      assert.equal(w.inflight, 1);
      // Only the worker can give these: undefined, never a made-up zero.
      assert.equal(w.heapTotal, undefined);
      assert.equal(w.external, undefined);
      if (kind === 'thread') {
        // Read from the parent: the thread has been blocked for the whole wait (about a second).
        assert.ok((w.eventLoopUtilization ?? 0) > 0.5, `ELU of a spinning thread: ${w.eventLoopUtilization}`);
        assert.ok((w.rss ?? 0) > 0, 'the shared process RSS');
      } else {
        assert.equal(w.eventLoopUtilization, undefined, "a process's ELU needs its answer");
        assert.equal(typeof w.pid, 'number');
        if (process.platform === 'linux') {
          assert.ok((w.rss ?? 0) > 0 && w.rss === w.proc?.rss, 'RSS from /proc');
          assert.ok((w.cpuUserMs ?? 0) > 0, `CPU from /proc/<pid>/stat: ${w.cpuUserMs}`);
        }
      }
      await pool.terminate();
      assert.ok(!(await spinning).ok);
    } finally {
      await pool.terminate();
    }
  });
}

test('procCpu reads utime and stime from a stat line whose command holds spaces and parentheses', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-proc-'));
  try {
    mkdirSync(join(root, '42'));
    writeFileSync(join(root, '42', 'stat'), '42 (node (a b)) R 1 42 42 0 -1 4194304 100 0 0 0 250 31 0 0 20 0 11 0 123 456 789\n');
    assert.deepEqual(procCpu(42, root), { userMs: 2500, systemMs: 310 });
    assert.equal(procCpu(43, root), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('workerDiagnostics: the answer where there is one, the parent readings over it, undefined for the rest', () => {
  const book = { workerId: 3, kind: 'process' as const, inflight: 1, completed: 9 };
  const silent = workerDiagnostics({ self: undefined, pid: 77, proc: undefined, parent: { rss: 5, heapUsed: 4, cpuUserMs: 1, cpuSystemMs: 2 } }, book);
  assert.deepEqual(silent, { reported: false, eventLoopUtilization: undefined, heapUsed: 4, heapTotal: undefined, external: undefined, rss: 5, cpuUserMs: 1, cpuSystemMs: 2, workerId: 3, kind: 'process', pid: 77, inflight: 1, completed: 9, proc: undefined });
  const self = { heapUsed: 10, heapTotal: 20, rss: 30, external: 1, eventLoopUtilization: 0.2, cpuUserMs: 7, cpuSystemMs: 8 };
  const answered = workerDiagnostics({ self, pid: undefined, proc: undefined, parent: { eventLoopUtilization: 0.9, rss: 99, heapUsed: 3 } }, { ...book, kind: 'thread' });
  assert.equal(answered.reported, true);
  assert.equal(answered.eventLoopUtilization, 0.9, "a thread's ELU is the parent's reading");
  assert.equal(answered.heapUsed, 10);
  assert.equal(answered.rss, 30);
});

test('a traceContext run option reaches the task as ctx.traceContext (threads and processes)', async () => {
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  for (const kind of ['thread', 'process'] as const) {
    const pool = createPool<typeof import('../fixtures/traced-tasks.js')>({ kind, module: new URL('../fixtures/traced-tasks.js', import.meta.url), size: 1 });
    try {
      const out = await pool.run('spanInTask', null, { traceContext: { traceparent: tp } });
      assert.equal(out.traceparent, tp, kind);
      await assert.rejects(pool.run('spanInTask', null, { traceContext: { traceparent: 5 } as never }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /traceContext\.traceparent must be a W3C traceparent string/ });
    } finally {
      await pool.close();
    }
  }
});
