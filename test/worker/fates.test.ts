/**
 * The worker side of "a task's fate is its own": when a worker dies, the
 * handle must tell the pool exactly which of its tasks finished (their
 * results came, or were lost), which were running and which never started.
 * The handles are driven directly, as the scheduler drives them (one
 * `[Op.Run, name, input, id, corr, ...]` message per batch, tasks numbered
 * by arrival), so what `results`, `started`, `exit`, `startedAt`,
 * `finished` and `probe` report is seen without a scheduler in between.
 * Every wait is for an event or a bounded condition, never a sleep.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Op, Status, TASK_STRIDE } from '../../src/wire/protocol.js';
import { ProcessWorker } from '../../src/worker/process.js';
import { ThreadWorker } from '../../src/worker/thread.js';
import type { ExitInfo, WorkerEvents, WorkerHandle } from '../../src/worker/handle.js';
import type { Step } from '../fixtures/fates.js';
import { eventually } from '../helpers/index.js';

const FIXTURE = new URL('../fixtures/fates.js', import.meta.url);
type Kind = 'thread' | 'process';
const KINDS: readonly Kind[] = ['thread', 'process'];

/** Like test/helpers/index.ts's `eventually`, for a condition that needs an async step (a probe) to be checked. */
async function eventuallyAsync(cond: () => Promise<boolean>, what: string, withinMs = 30_000): Promise<void> {
  const give = Date.now() + withinMs;
  while (!(await cond())) {
    if (Date.now() > give) throw new Error(`never happened within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

let nextId = 1;
const live: Driver[] = [];

/** One worker handle, the events it reported in order, and the per-worker seqs sent to it. */
class Driver {
  readonly handle: (ThreadWorker | ProcessWorker) & WorkerHandle;
  /** 'r<seq>' for each result, 's<first>-<last>' for each started marker, 'exit'. */
  readonly log: string[] = [];
  readonly results = new Map<number, { status: number; value: unknown }>();
  exits = 0;
  readonly #ready: Promise<number>;
  readonly #exit: Promise<ExitInfo>;
  #sent = 0;
  #idx = -1;

  constructor(readonly kind: Kind) {
    let ready!: (idx: number) => void;
    let fail!: (err: unknown) => void;
    let exit!: (info: ExitInfo) => void;
    this.#ready = new Promise((res, rej) => ((ready = res), (fail = rej)));
    this.#exit = new Promise((res) => (exit = res));
    const events: WorkerEvents = {
      ready: (_h, names) => ready(names.indexOf('step')),
      initError: (_h, err) => fail(new Error(`init error: ${JSON.stringify(err)}`)),
      results: (_h, msg) => {
        for (let i = 1; i < msg.length; i += 3) {
          this.results.set(msg[i] as number, { status: msg[i + 1] as number, value: msg[i + 2] });
          this.log.push(`r${String(msg[i])}`);
        }
      },
      started: (_h, first, last) => void this.log.push(`s${first}-${last}`),
      exit: (_h, info) => {
        this.exits++;
        this.log.push('exit');
        exit(info);
      },
    };
    const opts = { id: nextId++, moduleUrl: FIXTURE.href, corrPrefix: 'f-', resourceLimits: undefined, execArgv: undefined, env: undefined };
    this.handle = kind === 'thread' ? new ThreadWorker(opts, events) : new ProcessWorker(opts, events);
    live.push(this);
  }

  /** Ready, and `step` run often enough that the runtime knows it as a short task (its results then wait for the batch's end). */
  async warm(): Promise<void> {
    this.#idx = await this.#ready;
    for (let round = 0; round < 3; round++) {
      const seqs = this.send(Array.from({ length: 20 }, (_, i) => ({ v: i })));
      const last = seqs[seqs.length - 1] as number;
      await this.waitResult(last);
    }
  }

  /** Sends one Run batch; returns its tasks' seqs. */
  send(steps: Step[]): number[] {
    const msg: unknown[] = [Op.Run];
    const seqs: number[] = [];
    for (const s of steps) {
      msg.push(this.#idx, s, 1000 + this.#sent, null);
      seqs.push(++this.#sent);
    }
    assert.equal(msg.length, 1 + steps.length * TASK_STRIDE);
    this.handle.send(msg);
    return seqs;
  }

  waitResult(seq: number): Promise<void> {
    return eventually(() => this.results.has(seq), `result of seq ${seq}`);
  }

  exited(): Promise<ExitInfo> {
    return this.#exit;
  }

  /** Where in the log the result of `seq` came, or -1. */
  at(entry: string): number {
    return this.log.indexOf(entry);
  }
}

after(async () => {
  // Whatever a failed assertion left running.
  for (const d of live) d.handle.terminate();
  await Promise.all(live.map((d) => d.exited()));
});

for (const kind of KINDS) {
  describe(`${kind} worker`, () => {
    test('a task calling process.exit(): the results before it arrive before the exit; the tasks behind it never started', async () => {
      const d = new Driver(kind);
      await d.warm();
      const [a, b, k, c, e] = d.send([{ v: 1 }, { v: 2 }, { exit: 3 }, { v: 4 }, { v: 5 }]) as [number, number, number, number, number];
      const info = await d.exited();
      assert.equal(info.code, 3);
      assert.deepEqual(d.results.get(a), { status: Status.Ok, value: 2 });
      assert.deepEqual(d.results.get(b), { status: Status.Ok, value: 3 });
      const exitAt = d.at('exit');
      assert.ok(d.at(`r${a}`) !== -1 && d.at(`r${a}`) < exitAt && d.at(`r${b}`) < exitAt, `results before the exit: ${d.log.slice(-8).join(' ')}`);
      assert.equal(d.results.has(k) || d.results.has(c) || d.results.has(e), false);
      const h = d.handle;
      assert.notEqual(h.startedAt(a), undefined);
      assert.notEqual(h.startedAt(k), undefined, 'the exiting task started');
      assert.equal(h.startedAt(c), undefined, 'a task behind the exiting one never started');
      assert.equal(h.startedAt(e), undefined);
      assert.deepEqual([a, b, k, c, e].map((s) => h.finished(s)), [true, true, false, false, false]);
      await new Promise((r) => setImmediate(r));
      assert.equal(d.exits, 1);
    });

    test('a task spinning forever: the ones before it finished, it runs, the ones behind it never started, before and after terminate()', async () => {
      const d = new Driver(kind);
      await d.warm();
      const [a, b, k, c, e] = d.send([{ v: 1 }, { v: 2 }, { spin: true }, { v: 4 }, { v: 5 }]) as [number, number, number, number, number];
      const h = d.handle;
      if (h instanceof ProcessWorker) {
        await eventually(() => d.log.includes(`s${a}-${e}`), 'the batch marker');
        // The marker alone: the batch's first task started, the rest may have (counted as started).
        assert.notEqual(h.startedAt(a), undefined);
        assert.notEqual(h.startedAt(e), undefined, 'before a probe, a task of a picked-up batch counts as started');
        // The watchdog thread answers while the main thread spins.
        await eventuallyAsync(async () => {
          await h.probe();
          return h.finished(b) && h.startedAt(k) !== undefined;
        }, 'a probe shows the spinning task running');
      } else {
        await eventually(() => h.startedAt(k) !== undefined, 'the spinning task started');
      }
      const check = (when: string): void => {
        assert.deepEqual([a, b, k, c, e].map((s) => h.finished(s)), [true, true, false, false, false], when);
        assert.notEqual(h.startedAt(a), undefined, when);
        assert.notEqual(h.startedAt(k), undefined, when);
        assert.equal(h.startedAt(c), undefined, `${when}: a task behind the spinning one never started`);
        assert.equal(h.startedAt(e), undefined, when);
        // Its own start time, not its batch's.
        assert.ok((h.startedAt(k) as number) >= (h.startedAt(a) as number), when);
      };
      check('while it spins');
      h.terminate();
      const info = await d.exited();
      if (kind === 'process') assert.equal(info.signal, 'SIGTERM');
      check('after terminate()');
      assert.equal(d.results.has(k) || d.results.has(c) || d.results.has(e), false);
      await new Promise((r) => setImmediate(r));
      assert.equal(d.exits, 1);
    });

    test('an uncaught exception thrown from an async task: the buffered results go out before the worker dies', async () => {
      const d = new Driver(kind);
      await d.warm();
      const [a, b, k, c] = d.send([{ v: 1 }, { v: 2 }, { tick: true }, { v: 4 }]) as [number, number, number, number];
      const info = await d.exited();
      assert.notEqual(info.code, 0);
      const exitAt = d.at('exit');
      for (const [s, v] of [
        [a, 2],
        [b, 3],
        [c, 5],
      ] as const) {
        assert.deepEqual(d.results.get(s), { status: Status.Ok, value: v });
        assert.ok(d.at(`r${s}`) < exitAt, `result of ${s} before the exit: ${d.log.slice(-8).join(' ')}`);
      }
      const h = d.handle;
      assert.notEqual(h.startedAt(k), undefined);
      assert.notEqual(h.startedAt(c), undefined);
      assert.deepEqual([a, b, k, c].map((s) => h.finished(s)), [true, true, false, true]);
    });

    test('an unhandled rejection ends the worker: finished results arrive, the task still pending counts as running', async () => {
      const d = new Driver(kind);
      await d.warm();
      const [a, k, c] = d.send([{ v: 1 }, { reject: true }, { v: 3 }]) as [number, number, number];
      const info = await d.exited();
      assert.notEqual(info.code, 0);
      assert.ok(d.at(`r${a}`) !== -1 && d.at(`r${a}`) < d.at('exit') && d.at(`r${c}`) < d.at('exit'));
      const h = d.handle;
      assert.notEqual(h.startedAt(k), undefined);
      assert.deepEqual([a, k, c].map((s) => h.finished(s)), [true, false, true]);
    });
  });
}

describe('process worker reports', () => {
  test('a probe of an idle worker settles with every task finished; a probe after the exit settles at once', async () => {
    const d = new Driver('process');
    await d.warm();
    const seqs = d.send([{ v: 1 }, { v: 2 }, { v: 3 }]);
    await d.waitResult(seqs[2] as number);
    const h = d.handle as ProcessWorker;
    await h.probe();
    for (const s of seqs) {
      assert.equal(h.finished(s), true);
      assert.notEqual(h.startedAt(s), undefined);
    }
    assert.equal(h.startedAt((seqs[2] as number) + 1), undefined, 'nothing sent, nothing started');
    h.terminate();
    await d.exited();
    await h.probe();
    assert.equal(d.exits, 1);
  });

  test('a probe while the batch waits behind a spinning task in another batch: only the picked-up batch counts', async () => {
    const d = new Driver('process');
    await d.warm();
    const [k] = d.send([{ spin: true }]) as [number];
    const [c, e] = d.send([{ v: 1 }, { v: 2 }]) as [number, number];
    const h = d.handle as ProcessWorker;
    await eventuallyAsync(async () => {
      await h.probe();
      return h.startedAt(k) !== undefined;
    }, 'the spinning task started');
    assert.equal(h.startedAt(c), undefined, 'its batch was never picked up');
    assert.equal(h.startedAt(e), undefined);
    h.terminate();
    await d.exited();
    assert.notEqual(h.startedAt(k), undefined);
    assert.equal(h.startedAt(c), undefined);
    assert.equal(h.finished(k), false);
  });
});

describe('the runtime, driven in this process', () => {
  test('Op.Revoke: a held task is handed back at once, one on the wire when it arrives, a started one answers as usual', async () => {
    const { startRuntime } = await import('../../src/runtime/runtime.js');
    const fixture = (await import(FIXTURE.href)) as { release(): void };
    const posted: unknown[][] = [];
    let deliver: ((m: unknown[]) => void) | undefined;
    startRuntime({ post: (m) => void posted.push(m), onMessage: (l) => (deliver = l) }, { module: FIXTURE.href, workerId: 1, state: null, corrPrefix: 'r-' });
    await eventually(() => posted.some((m) => m[0] === Op.Ready), 'the runtime reports ready');
    const idx = (posted.find((m) => m[0] === Op.Ready)?.[1] as string[]).indexOf('step');
    const send = deliver as (m: unknown[]) => void;
    const answers = (): Map<number, [unknown, unknown]> => {
      const out = new Map<number, [unknown, unknown]>();
      for (const m of posted) if (m[0] === Op.Results) for (let i = 1; i < m.length; i += 3) out.set(m[i] as number, [m[i + 1], m[i + 2]]);
      return out;
    };
    send([Op.Run, idx, { wait: true, v: 1 }, 1, null]); // seq 1: running (async)
    send([Op.RunAfter, idx, { v: 10 }, 2, null, idx, { v: 20 }, 3, null]); // seqs 2, 3: held behind it
    send([Op.Revoke, 3, 4, 1]); // 3: held; 4: still on the wire; 1: started
    await eventually(() => answers().has(3), 'the held task handed back');
    assert.deepEqual(answers().get(3), [Status.Revoked, null]);
    assert.equal(answers().has(2), false, 'a held task not revoked still waits');
    send([Op.Run, idx, { v: 40 }, 4, null, idx, { v: 50 }, 5, null]); // seq 4 arrives: handed back, never run
    await eventually(() => answers().has(4), 'the task revoked on the wire handed back on arrival');
    fixture.release();
    await eventually(() => answers().has(1) && answers().has(2) && answers().has(5), 'the others ran');
    assert.deepEqual(
      [...answers()].sort((x, y) => x[0] - y[0]),
      [
        [1, [Status.Ok, 2]],
        [2, [Status.Ok, 11]],
        [3, [Status.Revoked, null]],
        [4, [Status.Revoked, null]],
        [5, [Status.Ok, 51]],
      ],
    );
    // Each answered once.
    const count = posted.filter((m) => m[0] === Op.Results).reduce((n, m) => n + (m.length - 1) / 3, 0);
    assert.equal(count, 5);
  });
});

describe('terminate() with the main thread free', () => {
  for (const kind of KINDS) {
    test(`${kind}: every task is finished with its result, running, or never started, and the exit says which`, async () => {
      const d = new Driver(kind);
      await d.warm();
      const [k] = d.send([{ wait: true }]) as [number];
      await eventually(() => d.handle.startedAt(k) !== undefined, 'the waiting task started');
      // Batches racing the kill: each may run or not, never half.
      const more = [...d.send([{ v: 1 }, { v: 2 }]), ...d.send([{ v: 3 }])];
      d.handle.terminate();
      const racing = d.send([{ v: 4 }, { v: 5 }]);
      await d.exited();
      const h = d.handle;
      assert.notEqual(h.startedAt(k), undefined);
      assert.equal(h.finished(k), false);
      for (const s of [...more, ...racing]) {
        if (d.results.has(s)) assert.equal(h.finished(s), true, `seq ${s}: its result came`);
        else if (h.finished(s)) assert.notEqual(h.startedAt(s), undefined, `seq ${s}: finished, result lost`);
        else assert.equal(h.startedAt(s), undefined, `seq ${s}: neither finished nor running: never started (${d.log.slice(-10).join(' ')})`);
      }
    });
  }
});
