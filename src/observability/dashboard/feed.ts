/**
 * The dashboard's sampler: once per tick it reads `pool.stats()`, the last
 * answer of `pool.diagnostics()`, the interval's latency, the alarms and the
 * job's progress, and builds one `Frame`. It keeps the charts' history in a
 * ring of `historySize` points and the last dead letters and events in rings
 * of `listSize`: its memory is fixed however long the pool runs.
 *
 * It reads what the pool already counts; per-task channels are listened to
 * only within IntervalLatency's cap, and the rare events (alarms, worker
 * exits and stalls, dead letters) as they come.
 */

import type { Pool } from '../../pool.js';
import type { TaskModule } from '../../api/types.js';
import type { PoolStats } from '../../api/stats.js';
import type { PoolDiagnostics, WorkerDiagnostics } from '../worker-diagnostics.js';
import { subscribePool } from '../subscribe.js';
import { IntervalLatency } from './interval-latency.js';
import { shown } from '../shown.js';
import type { DeadLetterRow, EventRow, Frame, JobProgress, Point, WorkerRow } from './frame.js';

type AnyPool = Pool<TaskModule>;

export interface FeedOptions {
  /** Tick interval, for the frame (the timer is the server's). */
  intervalMs: number;
  historySize: number;
  listSize: number;
  /** Completions a tick listens to for the interval's percentiles. */
  latencyCap: number;
  showData: boolean;
  job: (() => JobProgress) | undefined;
  /** Wall clock, injectable for tests. */
  now: () => number;
}

/** A dead letter handed over by the code running the job (`sluice run`, `sluice serve`). */
export interface DeadLetterNote {
  task: string;
  code: string;
  message: string;
  line?: number;
  jobId?: string;
  /** Kept only when the dashboard shows data. */
  input?: unknown;
}

const POOL_EVENTS = ['saturated', 'unsaturated', 'latency-alarm', 'latency-normal', 'pool-failed', 'pool-recovered', 'worker-leaking'] as const;
const MAX_TEXT = 500;

export class DashboardFeed {
  readonly #pool: AnyPool;
  readonly #o: FeedOptions;
  readonly #latency: IntervalLatency;
  readonly #history: Point[] = [];
  readonly #events: EventRow[] = [];
  readonly #deadLetters: DeadLetterRow[] = [];
  /** Library dead letters whose input is still to be looked up (showData only). */
  readonly #needInput = new Map<number, DeadLetterRow>();
  readonly #detach: () => void;
  readonly #onPoolEvent = new Map<string, (payload: unknown) => void>();
  #diag: PoolDiagnostics | undefined;
  #diagInFlight = false;
  #alarms = { saturated: false, latency: false, failed: false };
  #last: { t: number; completed: number; failed: number; done: number };
  #closed = false;

  constructor(pool: AnyPool, options: FeedOptions) {
    this.#pool = pool;
    this.#o = options;
    this.#latency = new IntervalLatency(pool.id, options.latencyCap);
    const s = pool.stats();
    this.#last = { t: options.now(), completed: s.completed, failed: s.failed, done: options.job?.().done ?? 0 };
    for (const name of POOL_EVENTS) {
      const fn = (payload: unknown): void => this.#poolEvent(name, payload);
      this.#onPoolEvent.set(name, fn);
      pool.on(name, fn);
    }
    this.#detach = subscribePool(pool.id, {
      workerExited: (e) => {
        if (e.reason !== 'close' && e.reason !== 'retire') this.#event('worker-exited', `worker ${e.workerId} exited (${e.reason}${e.signal !== null ? `, ${e.signal}` : e.code !== null ? `, code ${e.code}` : ''})`);
      },
      workerStalled: (e) => this.#event('worker-stalled', `worker ${e.workerId} stalled${e.task !== undefined ? ` in ${e.task}` : ''}`),
      taskDeadLettered: (e) => {
        const err = errorFields(e.error);
        const row: DeadLetterRow = { t: this.#o.now(), task: e.task, taskId: e.taskId, line: null, jobId: null, code: err.code, message: err.message };
        this.#pushDeadLetter(row);
        if (this.#o.showData) this.#needInput.set(e.taskId, row);
      },
    });
  }

  /** Records a dead letter the pool itself does not keep (`sluice run`'s lines, `sluice serve`'s jobs). */
  noteDeadLetter(note: DeadLetterNote): void {
    const row: DeadLetterRow = { t: this.#o.now(), task: note.task, taskId: null, line: note.line ?? null, jobId: note.jobId ?? null, code: cut(note.code), message: cut(note.message) };
    if (this.#o.showData && note.input !== undefined) row.input = jsonCut(note.input);
    this.#pushDeadLetter(row);
  }

  /** The charts' points, oldest first (a copy). */
  history(): Point[] {
    return this.#history.slice();
  }

  /** Samples the pool and returns this tick's frame (its point joins the history). */
  tick(): Frame {
    const now = this.#o.now();
    const s = this.#pool.stats();
    const job = this.#o.job?.();
    const dt = Math.max(1, now - this.#last.t) / 1000;
    const lat = this.#latency.take();
    const point: Point = {
      t: now,
      throughput: (s.completed - this.#last.completed) / dt,
      failures: (s.failed - this.#last.failed) / dt,
      p50: lat.p50,
      p99: lat.p99,
      queued: s.queued,
      waiting: s.waiting,
      running: s.running,
      lineRate: job === undefined ? null : (job.done - this.#last.done) / dt,
    };
    this.#last = { t: now, completed: s.completed, failed: s.failed, done: job?.done ?? 0 };
    this.#history.push(point);
    if (this.#history.length > this.#o.historySize) this.#history.splice(0, this.#history.length - this.#o.historySize);
    this.#fillInputs();
    this.#askDiagnostics(s);
    return {
      t: now,
      intervalMs: this.#o.intervalMs,
      pool: { name: this.#pool.name, kind: this.#pool.kind, state: s.state, size: s.size, targetSize: s.targetSize, live: this.#diag?.live ?? null, configured: this.#diag?.configured ?? null },
      counters: { submitted: s.submitted, completed: s.completed, failed: s.failed, rejected: s.rejected, retried: s.retried, dropped: s.dropped, deadLettered: s.deadLettered, stolen: s.stolen },
      point,
      latency: { waitP99: s.latency.wait.p99, runP50: s.latency.run.p50, runP99: s.latency.run.p99 },
      utilization: s.window.utilization,
      workers: this.#workers(s),
      supervision: { ...s.supervision, breakers: { ...s.supervision.breakers } },
      alarms: { ...this.#alarms, failed: s.state === 'failed' },
      events: this.#events.slice(),
      deadLetters: this.#deadLetters.slice(),
      job: job === undefined ? null : { ...job, etaMs: job.total !== undefined && job.rate > 0 ? ((job.total - job.done) / job.rate) * 1000 : null },
      showData: this.#o.showData,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#latency.close();
    this.#detach();
    for (const [name, fn] of this.#onPoolEvent) this.#pool.off(name, fn);
  }

  #workers(s: PoolStats): WorkerRow[] {
    const byId = new Map<number, WorkerDiagnostics>();
    for (const w of this.#diag?.workers ?? []) byId.set(w.workerId, w);
    return s.workerList.map((w) => {
      const d = byId.get(w.id);
      return {
        id: w.id,
        state: w.state,
        inflight: w.inflight,
        completed: w.completed,
        failures: w.failures,
        depth: w.depth,
        leaking: w.leaking,
        pid: d?.pid ?? null,
        // A process worker's own RSS from /proc when there is one; a thread's is the whole process's.
        // What the parent reads is there even when a busy worker did not answer (worker-diagnostics.ts).
        rss: d?.proc?.rss ?? d?.rss ?? null,
        heapUsed: d?.heapUsed ?? null,
        elu: d?.eventLoopUtilization ?? null,
        reported: d?.reported ?? false,
      };
    });
  }

  /** One diagnostics request at a time: a worker busy in a synchronous task answers late, and requests must not pile up. */
  #askDiagnostics(s: PoolStats): void {
    if (this.#diagInFlight || this.#closed || s.state === 'closed' || s.state === 'failed') return;
    this.#diagInFlight = true;
    this.#pool.diagnostics().then(
      (d) => {
        this.#diagInFlight = false;
        this.#diag = d;
      },
      () => {
        this.#diagInFlight = false;
      },
    );
  }

  #poolEvent(name: (typeof POOL_EVENTS)[number], payload: unknown): void {
    const p = (payload ?? {}) as Record<string, unknown>;
    switch (name) {
      case 'saturated':
        this.#alarms.saturated = true;
        this.#event(name, `queue depth ${String(p.queueDepth)} above ${String(p.threshold)}`);
        break;
      case 'unsaturated':
        this.#alarms.saturated = false;
        this.#event(name, `queue depth ${String(p.queueDepth)} back under ${String(p.threshold)}`);
        break;
      case 'latency-alarm':
        this.#alarms.latency = true;
        this.#event(name, `p99 ${fmt(p.p99Ms)} ms above ${String(p.factor)} × baseline ${fmt(p.baselineMs)} ms`);
        break;
      case 'latency-normal':
        this.#alarms.latency = false;
        this.#event(name, `p99 ${fmt(p.p99Ms)} ms, baseline ${fmt(p.baselineMs)} ms`);
        break;
      case 'pool-failed':
        this.#event(name, `pool failed: ${errorFields(p.error).message}`);
        break;
      case 'pool-recovered':
        this.#event(name, 'pool recovered');
        break;
      case 'worker-leaking':
        this.#event(name, `worker ${String(p.workerId)} heap keeps growing (${fmt(Number(p.heapUsed) / 2 ** 20)} MiB)`);
        break;
    }
  }

  #event(kind: string, text: string): void {
    this.#events.push({ t: this.#o.now(), kind, text: cut(text) });
    if (this.#events.length > this.#o.listSize) this.#events.shift();
  }

  #pushDeadLetter(row: DeadLetterRow): void {
    this.#deadLetters.push(row);
    if (this.#deadLetters.length > this.#o.listSize) {
      const gone = this.#deadLetters.shift();
      if (gone?.taskId !== null && gone?.taskId !== undefined) this.#needInput.delete(gone.taskId);
    }
  }

  /** showData with a library pool: the inputs of new dead letters, from the pool's dead-letter queue, once per tick at most. */
  #fillInputs(): void {
    if (this.#needInput.size === 0) return;
    for (const entry of this.#pool.deadLetters().slice(-this.#o.listSize)) {
      const row = this.#needInput.get(entry.taskId);
      if (row !== undefined) row.input = jsonCut(entry.input);
    }
    this.#needInput.clear();
  }
}

function errorFields(error: unknown): { code: string; message: string } {
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as { code?: unknown; message?: unknown; name?: unknown };
  return { code: cut(typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'Error'), message: cut(typeof e.message === 'string' ? e.message : String(e.message)) };
}

function cut(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

function jsonCut(value: unknown): string {
  return cut(shown(value));
}

function fmt(n: unknown): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 0) : String(n);
}
