/**
 * Seeded random traces against the real Scheduler with scripted workers
 * (scripted-worker.ts), judged by the reference model (reference.ts).
 *
 * A trace is a pool configuration plus a list of steps. Steps name what
 * happens (a submit, a worker starting its next task, a crash, time moving
 * on...) and pick their target by a raw random number taken modulo the
 * candidates at that moment, so any sub-list of a trace is still a trace:
 * that is what shrinking relies on. After the steps, a fixed drain phase
 * closes the pool and lets every worker do all its work, so every task
 * must reach its verdict and close() must resolve.
 *
 * Determinism: the pool runs on a ManualClock; while a trace runs,
 * `performance.now` is pointed at the same clock (the engine reads
 * `epochNow()` for running times and `performance.now()` for the auto
 * pipeline's depth), so a seed replays exactly.
 */

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ManualClock } from '../../src/clock.js';
import { Scheduler } from '../../src/scheduler.js';
import { resolvePoolOptions } from '../../src/validate.js';
import { resolveRetry } from '../../src/retry.js';
import type { RetryOptions } from '../../src/retry.js';
import type { RunOptions } from '../../src/options.js';
import type { ExitInfo, WorkerEvents } from '../../src/worker/handle.js';
import { mulberry32 } from '../helpers.js';
import { PERF_OFFSET, ScriptedWorker, type Arrival } from './scripted-worker.js';
import { errorMessage, fateOf, judgeKill, judgeLiveness, judgeRetry, judgeVerdict, ModelTask, type Fate, type PoolFacts, type RuleName, type Verdict, type Violation } from './reference.js';

// ---- traces -------------------------------------------------------------------

export interface Config {
  /** A number: fixed size; an object: dynamic. */
  size: number | { min: number; max: number; idleTimeoutMs: number };
  pipeline: number | 'auto';
  timeoutMs: number | undefined;
  abortGraceMs: number;
  retry: { attempts: number; baseMs: number; retryAll: boolean } | undefined;
  maxTasks: number | undefined;
  heartbeat: boolean;
  restartIntensity: boolean;
  probe: boolean;
}

export type ExitHow = 'code' | 'signal' | 'oom' | 'error';

export type Step =
  | { op: 'submit'; name: number; timeoutMs?: number; deadlineMs?: number; retry?: { attempts: number; baseMs: number; retryAll: boolean }; signal?: boolean; priority?: number }
  | { op: 'ready'; w: number }
  | { op: 'loadFail'; w: number }
  | { op: 'start'; w: number }
  | { op: 'finish'; w: number; k: number; ok: boolean }
  | { op: 'honour'; w: number; k: number }
  | { op: 'flush'; w: number; race: boolean }
  | { op: 'exit'; w: number; flush: boolean; how: ExitHow }
  | { op: 'reap'; w: number }
  | { op: 'block'; w: number; k: number }
  | { op: 'unblock'; w: number }
  | { op: 'advance'; ms: number }
  | { op: 'abort'; t: number }
  | { op: 'resize'; n: number }
  | { op: 'close'; timeoutMs: number }
  | { op: 'terminate' };

export interface Trace {
  seed: number;
  config: Config;
  steps: Step[];
}

/** Task names the scripted module exports; index 2 in a submit step is a name it does not. */
const NAMES = ['a', 'b'] as const;
const UNKNOWN = 'nope';
const HEARTBEAT = { intervalMs: 50, missedBeats: 2 };

export function generate(seed: number): Trace {
  const r = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const chance = (p: number): boolean => r() < p;
  const max = int(1, 3);
  const config: Config = {
    size: chance(0.6) ? max : { min: int(0, Math.min(1, max)), max, idleTimeoutMs: pick([30, 200]) },
    pipeline: pick([1, 1, 2, 3, 'auto', 'auto'] as const),
    timeoutMs: chance(0.35) ? int(2, 12) * 10 : undefined,
    abortGraceMs: int(1, 6) * 10,
    retry: chance(0.3) ? { attempts: int(2, 3), baseMs: int(1, 4) * 5, retryAll: chance(0.5) } : undefined,
    maxTasks: chance(0.2) ? int(2, 4) : undefined,
    heartbeat: chance(0.25),
    restartIntensity: chance(0.3),
    probe: chance(0.3),
  };
  const weights: [Step['op'], number][] = [
    ['submit', 18],
    ['ready', 7],
    ['loadFail', 0.15],
    ['start', 15],
    ['finish', 11],
    ['honour', 3],
    ['flush', 10],
    ['exit', 3],
    ['reap', 5],
    ['block', config.heartbeat ? 4 : 0.5],
    ['unblock', config.heartbeat ? 0.5 : 1],
    ['advance', 10],
    ['abort', 3],
    ['resize', 1.2],
    ['close', 0.5],
    ['terminate', 0.15],
  ];
  const total = weights.reduce((s, [, w]) => s + w, 0);
  const raw = (): number => Math.floor(r() * 1e6);
  const steps: Step[] = [];
  const n = int(20, 80);
  for (let i = 0; i < n; i++) {
    let x = r() * total;
    let op: Step['op'] = 'submit';
    for (const [o, w] of weights) {
      x -= w;
      if (x < 0) {
        op = o;
        break;
      }
    }
    switch (op) {
      case 'submit': {
        const s: Step = { op: 'submit', name: chance(0.03) ? 2 : int(0, 1) };
        if (chance(0.4)) s.timeoutMs = int(2, 10) * 10;
        if (chance(0.12)) s.deadlineMs = int(5, 30) * 10;
        if (chance(0.25)) s.retry = { attempts: int(1, 3), baseMs: int(1, 4) * 5, retryAll: chance(0.5) };
        if (chance(0.3)) s.signal = true;
        if (chance(0.15)) s.priority = int(-2, 2);
        steps.push(s);
        break;
      }
      case 'finish':
        steps.push({ op, w: raw(), k: raw(), ok: chance(0.75) });
        break;
      case 'honour':
      case 'block':
        steps.push({ op, w: raw(), k: raw() });
        break;
      case 'flush':
        steps.push({ op, w: raw(), race: chance(0.15) });
        break;
      case 'exit':
        steps.push({ op, w: raw(), flush: chance(0.5), how: pick(['code', 'signal', 'oom', 'error'] as const) });
        break;
      case 'advance':
        steps.push({ op, ms: pick([1, 5, 10, 25, 50, 120, 200]) });
        break;
      case 'abort':
        steps.push({ op, t: raw() });
        break;
      case 'resize':
        steps.push({ op, n: int(0, max) });
        break;
      case 'close':
        steps.push({ op, timeoutMs: pick([Infinity, Infinity, 100, 400]) });
        break;
      case 'terminate':
        steps.push({ op });
        break;
      default:
        steps.push({ op, w: raw() });
    }
  }
  return { seed, config, steps };
}

export function formatStep(s: Step): string {
  switch (s.op) {
    case 'submit': {
      const o: string[] = [];
      if (s.timeoutMs !== undefined) o.push(`timeoutMs ${s.timeoutMs}`);
      if (s.deadlineMs !== undefined) o.push(`deadlineMs ${s.deadlineMs}`);
      if (s.retry !== undefined) o.push(`retry ${s.retry.attempts}x/${s.retry.baseMs}ms${s.retry.retryAll ? ' retryOn:all' : ''}`);
      if (s.signal === true) o.push('signal');
      if (s.priority !== undefined) o.push(`priority ${s.priority}`);
      return `submit ${s.name === 2 ? UNKNOWN : (NAMES[s.name] as string)}${o.length > 0 ? ` {${o.join(', ')}}` : ''}`;
    }
    case 'advance':
      return `advance ${s.ms} ms`;
    case 'resize':
      return `resize(${s.n})`;
    case 'close':
      return `close(${s.timeoutMs})`;
    case 'terminate':
      return 'terminate()';
    case 'abort':
      return `abort #${s.t}`;
    case 'finish':
      return `finish w#${s.w} k#${s.k} ${s.ok ? 'ok' : 'throw'}`;
    case 'exit':
      return `exit w#${s.w} ${s.how}${s.flush ? ' after flushing' : ' without flushing'}`;
    case 'flush':
      return `flush w#${s.w}${s.race ? ' (even if told to stop)' : ''}`;
    default:
      return `${s.op} w#${(s as { w: number }).w}`;
  }
}

export function formatTrace(t: Trace): string {
  return [`seed ${t.seed}`, `config ${JSON.stringify(t.config, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v))}`, ...t.steps.map((s, i) => `  ${String(i).padStart(3)}  ${formatStep(s)}`)].join('\n');
}

// ---- running one trace -------------------------------------------------------------

export interface RunResult {
  violations: Violation[];
  /** What each step did, resolved against the state then (for the report). */
  log: string[];
  tasks: number;
  verdicts: Partial<Record<Fate, number>>;
  /** Tasks that were sent to a worker that died before starting them, and later returned ok. */
  requeuedThenOk: number;
  closed: boolean;
}

/** The task channels, subscribed once, routed to the trace now running. */
let current: Run | undefined;
const CHANNELS = {
  'sluice:task:dispatched': (m: unknown) => current?.onDispatched(m as Ev),
  'sluice:task:completed': (m: unknown) => current?.onVerdict(m as Ev, 'ok', undefined, true),
  'sluice:task:failed': (m: unknown) => current?.onVerdict(m as Ev, undefined, (m as Ev).error, true),
  'sluice:task:retried': (m: unknown) => current?.onVerdict(m as Ev, undefined, (m as Ev).error, false),
  'sluice:task:rejected': (m: unknown) => current?.onVerdict(m as Ev, undefined, (m as Ev).error, true),
  'sluice:worker:recycled': (m: unknown) => current?.onRecycled(m as Ev & { workerId: number }),
} as const;

interface Ev {
  poolId: string;
  correlationId: string | undefined;
  attempt?: number;
  error?: unknown;
}

const MAX_PER_RULE = 3;
const MICROTASK_HOPS = 4;

async function microtasks(): Promise<void> {
  for (let i = 0; i < MICROTASK_HOPS; i++) await Promise.resolve();
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function exitInfo(how: ExitHow): ExitInfo {
  switch (how) {
    case 'signal':
      return { code: null, signal: 'SIGKILL', error: undefined, oom: false };
    case 'oom':
      return { code: 1, signal: null, error: new Error('model: heap limit'), oom: true };
    case 'error':
      return { code: 1, signal: null, error: new Error('model: uncaught'), oom: false };
    default:
      return { code: 1, signal: null, error: undefined, oom: false };
  }
}

class Run implements PoolFacts {
  readonly trace: Trace;
  readonly cfg: Config;
  readonly clock = new ManualClock(0);
  readonly workers: ScriptedWorker[] = [];
  readonly tasks = new Map<string, ModelTask>();
  readonly byOrder: ModelTask[] = [];
  readonly violations: Violation[] = [];
  readonly log: string[] = [];
  readonly #perRule = new Map<RuleName, number>();
  readonly max: number;
  readonly min: number;
  sched!: Scheduler;
  step = -1;
  closeAt: number | undefined = undefined;
  closeTimeoutMs = Infinity;
  terminateAt: number | undefined = undefined;
  closedWhileFailed = false;
  closeResolved = false;
  /** Workers the engine said it recycles (worker:recycled): they may overlap with their replacement. */
  readonly recycled = new Set<number>();
  /** The size asked for by resize(), clamped; undefined: never resized. */
  target: number | undefined = undefined;
  readonly #logging: boolean;

  constructor(trace: Trace, logging: boolean) {
    this.trace = trace;
    this.cfg = trace.config;
    this.#logging = logging;
    this.max = typeof this.cfg.size === 'number' ? this.cfg.size : this.cfg.size.max;
    this.min = typeof this.cfg.size === 'number' ? this.cfg.size : this.cfg.size.min;
  }

  now(): number {
    return this.clock.now();
  }

  state(): string {
    return this.sched.state;
  }

  /** Counts what happens (sends, verdicts, spawns, stops): the drain stops early once nothing does. */
  activity = 0;

  note(line: string): void {
    this.activity++;
    if (this.#logging) this.log.push(`  [${String(this.step).padStart(3)}] t=${this.now()} ${line}`);
  }

  report = (rule: RuleName, message: string): void => {
    const n = this.#perRule.get(rule) ?? 0;
    this.#perRule.set(rule, n + 1);
    if (n >= MAX_PER_RULE) return;
    this.violations.push({ rule, message, step: this.step, time: this.now() });
    this.note(`VIOLATION ${rule}: ${message}`);
  };

  // ---- engine construction -----------------------------------------------------

  start(): void {
    const c = this.cfg;
    const options = resolvePoolOptions({
      module: 'file:///model/scripted-tasks.js',
      name: 'model',
      size: c.size,
      pipeline: c.pipeline,
      timeoutMs: c.timeoutMs,
      abortGraceMs: c.abortGraceMs,
      retry: c.retry === undefined ? undefined : this.#retryOptions(c.retry),
      clock: this.clock,
      supervision: {
        ...(c.maxTasks === undefined ? {} : { recycle: { maxTasks: c.maxTasks } }),
        ...(c.heartbeat ? { heartbeat: HEARTBEAT } : {}),
        restartIntensity: c.restartIntensity ? {} : false,
      },
    });
    this.sched = new Scheduler(options, (id, events) => this.#spawn(id, events));
    this.sched.start().catch(() => undefined);
  }

  #retryOptions(r: { attempts: number; baseMs: number; retryAll: boolean }): RetryOptions {
    return { attempts: r.attempts, backoff: 'fixed', baseMs: r.baseMs, jitter: 'none', ...(r.retryAll ? { retryOn: () => true } : {}) };
  }

  #spawn(id: number, events: WorkerEvents): ScriptedWorker {
    const alive = this.workers.filter((w) => !w.exited).length;
    // One more while a worker being recycled is still alive (its replacement starts first).
    const allowance = this.workers.some((w) => !w.exited && this.recycled.has(w.id)) ? 1 : 0;
    if (alive + 1 > this.max + allowance) this.report('size-bound', `worker ${id} spawned with ${alive} alive already (max ${this.max}${allowance > 0 ? ' + 1 recycling' : ''})`);
    const w = new ScriptedWorker(
      id,
      events,
      {
        now: () => this.now(),
        arrived: (a, batch) => this.#arrived(a, batch),
        revoked: (a) => this.note(`w${a.worker.id} gives back #${a.seq} ${a.corr ?? '?'} (revoked, not started)`),
        aborted: (a, kind) => this.note(`w${a.worker.id} gets Abort #${a.seq} (${a.corr ?? '?'}, kind ${kind}) while ${a.startedAt === undefined ? 'not started' : 'running'}`),
        terminated: (wk, why) => {
          this.note(`pool stops w${wk.id} (${why})`);
          judgeKill(wk, why, this.now(), this.cfg.abortGraceMs, this, this.report);
        },
        other: () => undefined,
      },
      { probe: this.cfg.probe, heartbeat: this.cfg.heartbeat, names: NAMES },
    );
    this.workers.push(w);
    this.note(`pool spawns w${id}`);
    return w;
  }

  // ---- what the workers see --------------------------------------------------------

  #arrived(a: Arrival, batch: readonly Arrival[]): void {
    const w = a.worker;
    this.note(`w${w.id} receives #${a.seq} ${a.corr ?? '?'}${a.after ? ' (RunAfter)' : ''}`);
    if (w.stopWhy !== undefined) this.report('no-work-to-stopped', `task ${a.corr ?? '?'} sent to w${w.id} after the pool asked it to stop (${w.stopWhy})`);
    if (a === batch[0] && this.target !== undefined) {
      const wasIdle = w.arrivals.every((x) => x.flushed || batch.includes(x));
      // A worker being recycled drains its last tasks beside its replacement: that overlap is recycling's +1.
      const busy = this.workers.filter((o) => o !== w && !o.exited && o.stopWhy === undefined && !this.recycled.has(o.id) && o.arrivals.some((x) => !x.flushed)).length;
      // resize(0) on a pool with min 0 still runs queued work on one worker.
      if (wasIdle && busy >= Math.max(1, this.target)) this.report('resize-respected', `after resize to ${this.target}, idle w${w.id} got ${a.corr ?? '?'} while ${busy} other workers have work`);
    }
    const t = a.corr === null ? undefined : this.tasks.get(a.corr);
    if (t === undefined) return;
    if (t.final !== undefined) this.report('no-run-after-settle', `task ${t.key} sent to w${w.id} after its final verdict (${t.final.fate})`);
    for (const p of t.arrivals.slice(t.judgedUpTo)) {
      const dead = (p.worker.exited && p.atExit === 'unstarted') || (p.revoked && p.flushed);
      if (!dead) this.report('single-attempt', `task ${t.key} sent to w${w.id} while its earlier send w${p.worker.id}#${p.seq} is unjudged and ${p.startedAt === undefined ? 'waiting in that worker\'s inbox' : 'running'}${p.worker.exited ? ' (worker exited)' : ''}`);
    }
    t.arrivals.push(a);
  }

  // ---- what the engine publishes ---------------------------------------------------

  #task(ev: Ev): ModelTask | undefined {
    if (this.sched === undefined || ev.poolId !== this.sched.poolId || ev.correlationId === undefined) return undefined;
    return this.tasks.get(ev.correlationId);
  }

  onDispatched(ev: Ev): void {
    const t = this.#task(ev);
    if (t === undefined) return;
    const attempt = ev.attempt as number;
    t.dispatches.push(attempt);
    const earlier = t.arrivals.slice(0, -1).filter((a) => a.startedAt !== undefined).length;
    if (attempt !== earlier + 1) this.report('attempts-kept', `task ${t.key} dispatched as attempt ${attempt}, but ${earlier} earlier attempts started`);
  }

  onRecycled(ev: Ev & { workerId: number }): void {
    if (this.sched === undefined || ev.poolId !== this.sched.poolId) return;
    this.recycled.add(ev.workerId);
    this.note(`pool recycles w${ev.workerId}`);
  }

  onVerdict(ev: Ev, fate: Fate | undefined, error: unknown, final: boolean): void {
    const t = this.#task(ev);
    if (t === undefined) return;
    const f = fate ?? fateOf(error);
    const v: Verdict = { fate: f, time: this.now(), step: this.step, final, error, attempt: t.current };
    this.note(`verdict ${t.key}: ${f}${final ? '' : ' (retry)'}${f === 'ok' ? '' : ` "${errorMessage(error).slice(0, 100)}"`}`);
    if (t.final !== undefined) {
      this.report('settle-once', `task ${t.key} got a ${final ? 'final' : 'retry'} verdict (${f}) after its final verdict (${t.final.fate})`);
      return;
    }
    judgeVerdict(t, v, this, this.report);
    judgeRetry(t, v, this, this.report);
    t.verdicts.push(v);
    t.judgedUpTo = t.arrivals.length;
    if (final) t.final = v;
  }

  #settled(t: ModelTask, r: { ok: true; value: unknown } | { ok: false; error: unknown }): void {
    t.promise = r;
    const f = t.final;
    if (f === undefined) {
      this.report('settle-once', `task ${t.key}'s promise ${r.ok ? 'resolved' : `rejected (${errorMessage(r.error)})`} with no verdict published`);
      return;
    }
    if (r.ok) {
      const sent = f.attempt?.outcome;
      if (f.fate !== 'ok') this.report('settle-once', `task ${t.key} resolved, but its verdict was ${f.fate}`);
      else if (sent === undefined || !sent.ok || sent.value !== r.value) this.report('own-result', `task ${t.key} resolved with ${JSON.stringify(r.value)}, its attempt sent ${JSON.stringify(sent)}`);
    } else if (r.error !== f.error) {
      this.report('settle-once', `task ${t.key} rejected with "${errorMessage(r.error)}", its published verdict was ${f.fate}`);
    }
  }

  #onClosed(): void {
    if (this.closeResolved) return;
    this.closeResolved = true;
    this.note('close resolves');
    const pending = this.byOrder.filter((t) => t.promise === undefined);
    if (pending.length > 0) this.report('close-drains', `close() resolved with ${pending.length} tasks pending: ${pending.map((t) => `${t.key} (${t.verdicts.length} verdicts, ${t.arrivals.length} sends)`).join(', ')}`);
  }

  // ---- the script --------------------------------------------------------------------

  #pickW(cands: ScriptedWorker[], raw: number): ScriptedWorker | undefined {
    return cands.length === 0 ? undefined : cands[raw % cands.length];
  }

  submit(s: Extract<Step, { op: 'submit' }>): void {
    const key = `t${this.byOrder.length + 1}`;
    const name = s.name === 2 ? UNKNOWN : (NAMES[s.name] as string);
    const opts: RunOptions = { correlationId: key };
    if (s.timeoutMs !== undefined) opts.timeoutMs = s.timeoutMs;
    if (s.deadlineMs !== undefined) opts.deadlineMs = s.deadlineMs;
    if (s.retry !== undefined) opts.retry = this.#retryOptions(s.retry);
    if (s.priority !== undefined) opts.priority = s.priority;
    const controller = s.signal === true ? new AbortController() : undefined;
    if (controller !== undefined) opts.signal = controller.signal;
    const options = this.sched.options;
    const retry = resolveRetry('retry', opts.retry, options.retry);
    const t = new ModelTask({
      key,
      name,
      knownName: s.name !== 2,
      timeoutMs: s.timeoutMs ?? options.timeoutMs,
      deadlineAt: s.deadlineMs === undefined ? Infinity : this.now() + s.deadlineMs,
      retry: retry.attempts > 1 ? retry : undefined,
      controller,
      submittedAt: this.now(),
      submittedIn: this.sched.state,
    });
    this.tasks.set(key, t);
    this.byOrder.push(t);
    this.note(`submit ${key} ${formatStep(s).slice(7)}`);
    this.sched.submit(name, key, opts).then(
      (value) => this.#settled(t, { ok: true, value }),
      (error: unknown) => this.#settled(t, { ok: false, error }),
    );
  }

  async apply(s: Step): Promise<void> {
    const ws = this.workers;
    switch (s.op) {
      case 'submit':
        this.submit(s);
        return;
      case 'ready': {
        const w = this.#pickW(ws.filter((x) => x.state === 'starting' && x.stopWhy === undefined), s.w);
        if (w !== undefined && w.ready()) this.note(`w${w.id} ready`);
        return;
      }
      case 'loadFail': {
        const w = this.#pickW(ws.filter((x) => x.state === 'starting' && x.stopWhy === undefined), s.w);
        if (w !== undefined && w.loadFail()) this.note(`w${w.id} fails to load its module`);
        return;
      }
      case 'start': {
        const w = this.#pickW(ws.filter((x) => x.nextStartable() !== undefined), s.w);
        if (w === undefined) return;
        const dropped = w.buffered.length;
        const a = w.startNext();
        if (w.buffered.length > dropped) this.note(`w${w.id} drops ${w.buffered.length - dropped} aborted task(s) before they start`);
        if (a !== undefined) this.note(`w${w.id} starts #${a.seq} ${a.corr ?? '?'}`);
        return;
      }
      case 'finish': {
        const w = this.#pickW(ws.filter((x) => x.free && x.running.length > 0), s.w);
        if (w === undefined) return;
        const a = w.running[s.k % w.running.length] as Arrival;
        w.finish(a, s.ok);
        this.note(`w${w.id} #${a.seq} ${a.corr ?? '?'} ${s.ok ? 'returns' : 'throws'} (buffered)`);
        return;
      }
      case 'honour': {
        const w = this.#pickW(ws.filter((x) => x.free && x.running.some((a) => a.abortedAt !== undefined)), s.w);
        if (w === undefined) return;
        const cands = w.running.filter((a) => a.abortedAt !== undefined);
        const a = cands[s.k % cands.length] as Arrival;
        w.honour(a);
        this.note(`w${w.id} #${a.seq} ${a.corr ?? '?'} honours its abort (buffered)`);
        return;
      }
      case 'flush': {
        const w = this.#pickW(ws.filter((x) => x.state === 'ready' && x.blockedBy === undefined && x.buffered.length > 0 && (x.stopWhy === undefined || s.race)), s.w);
        if (w === undefined) return;
        const seqs = w.buffered.map((a) => `#${a.seq} ${a.corr ?? '?'}`).join(', ');
        this.note(`w${w.id} sends results ${seqs}${w.stopWhy === undefined ? '' : ' (while being stopped)'}`);
        w.flush(true);
        return;
      }
      case 'exit': {
        const alive = ws.filter((x) => !x.exited && x.stopWhy === undefined);
        const ready = alive.filter((x) => x.state === 'ready');
        // Mostly a ready worker; one time in ten any live one (a worker that dies while starting).
        const w = this.#pickW(s.w % 10 !== 0 ? ready : alive, s.w);
        if (w === undefined) return;
        if (s.flush && w.blockedBy === undefined) w.flush();
        this.note(`w${w.id} exits (${s.how}${s.flush ? ', flushed first' : ''}; running ${w.running.map((a) => a.corr).join(',') || '-'}, unsent ${w.buffered.map((a) => a.corr).join(',') || '-'}, inbox ${w.inbox.map((a) => a.corr).join(',') || '-'})`);
        w.exit(exitInfo(s.how));
        return;
      }
      case 'reap': {
        const w = this.#pickW(ws.filter((x) => !x.exited && x.stopWhy !== undefined), s.w);
        if (w === undefined) return;
        this.note(`w${w.id} ends after the pool's ${w.stopWhy ?? '?'} (running ${w.running.map((a) => a.corr).join(',') || '-'}, unsent ${w.buffered.map((a) => a.corr).join(',') || '-'}, inbox ${w.inbox.map((a) => a.corr).join(',') || '-'})`);
        w.exit(w.stopWhy === 'stop' ? { code: 0, signal: null, error: undefined, oom: false } : { code: 1, signal: null, error: undefined, oom: false });
        return;
      }
      case 'block': {
        const w = this.#pickW(ws.filter((x) => x.free && x.running.length > 0), s.w);
        if (w === undefined) return;
        const a = w.running[s.k % w.running.length] as Arrival;
        w.block(a);
        this.note(`w${w.id} blocked by #${a.seq} ${a.corr ?? '?'}`);
        return;
      }
      case 'unblock': {
        const w = this.#pickW(ws.filter((x) => !x.exited && x.blockedBy !== undefined), s.w);
        if (w === undefined) return;
        const a = w.blockedBy as Arrival;
        w.finish(a, true);
        this.note(`w${w.id} unblocked: #${a.seq} ${a.corr ?? '?'} returns (buffered)`);
        return;
      }
      case 'advance':
        this.note(`advance ${s.ms} ms`);
        await this.advance(s.ms, 1);
        return;
      case 'abort': {
        const withSignal = this.byOrder.filter((t) => t.controller !== undefined && t.abortedAt === undefined);
        const pending = withSignal.filter((t) => t.final === undefined);
        const pool = pending.length > 0 ? pending : withSignal;
        const t = pool.length === 0 ? undefined : pool[s.t % pool.length];
        if (t === undefined) return;
        const wasPending = t.final === undefined;
        t.abortedAt = this.now();
        this.note(`abort ${t.key}${wasPending ? '' : ' (already settled)'}`);
        (t.controller as AbortController).abort(new Error('model: cancelled'));
        if (wasPending && t.final?.fate !== 'aborted') this.report('abort-settles', `task ${t.key} aborted while pending, verdict ${t.final?.fate ?? 'none'}`);
        return;
      }
      case 'resize': {
        const before = this.sched.state;
        this.note(`resize(${s.n})`);
        this.sched.resize(s.n);
        if (before === 'running' || before === 'starting') this.target = Math.min(this.max, Math.max(this.min, s.n));
        return;
      }
      case 'close': {
        if (this.closeAt !== undefined || this.terminateAt !== undefined) return;
        this.closeAt = this.now();
        this.closeTimeoutMs = s.timeoutMs;
        this.closedWhileFailed = this.sched.state === 'failed' || this.sched.state === 'closed';
        this.note(`close(${s.timeoutMs})`);
        void this.sched.close(s.timeoutMs).then(() => this.#onClosed());
        return;
      }
      case 'terminate': {
        this.terminateAt ??= this.now();
        this.note('terminate()');
        void this.sched.terminate().then(() => this.#onClosed());
        return;
      }
    }
  }

  /** Moves the clock `ms` forward in `inc` steps, letting microtasks (flushes, probes) run between. */
  async advance(ms: number, inc: number): Promise<void> {
    for (let done = 0; done < ms; done += inc) {
      this.clock.advance(Math.min(inc, ms - done));
      await microtasks();
    }
  }

  checkLiveness(): void {
    judgeLiveness(this.byOrder, this.workers, this.cfg.abortGraceMs, this.now(), this.report);
  }

  /** After the script: close (if nobody did) and let every worker do all its work until close resolves. */
  async drain(): Promise<void> {
    this.step = -1;
    this.note('-- drain: close, then every worker does all its work --');
    if (this.closeAt === undefined && this.terminateAt === undefined) await this.apply({ op: 'close', timeoutMs: Infinity });
    let quiet = 0;
    for (let round = 0; round < 80 && !this.closeResolved && quiet < 10; round++) {
      const before = this.activity;
      for (const w of [...this.workers]) {
        if (w.exited) continue;
        if (w.stopWhy !== undefined) {
          w.exit(w.stopWhy === 'stop' ? { code: 0, signal: null, error: undefined, oom: false } : { code: 1, signal: null, error: undefined, oom: false });
          continue;
        }
        if (w.state === 'starting') {
          w.ready();
          continue;
        }
        if (w.blockedBy !== undefined) w.finish(w.blockedBy, true);
        for (const a of [...w.running]) w.finish(a, true);
        for (let a = w.startNext(); a !== undefined; a = w.startNext()) w.finish(a, true);
        w.flush();
      }
      await macrotask();
      this.checkLiveness();
      await this.advance(round < 30 ? 20 : 1000, round < 30 ? 1 : 50);
      await macrotask();
      // Past the first rounds (retry backoffs, grace timers), ten rounds of nothing happening: it is stuck.
      quiet = round >= 30 && this.activity === before ? quiet + 1 : 0;
    }
    await macrotask();
    if (!this.closeResolved) {
      const st = this.sched.stats();
      this.report('close-drains', `close() never resolved (state ${st.state}, running ${st.running}, queued ${st.queued}, backoff ${st.backoff}, workers ${st.size}; pending tasks: ${this.byOrder.filter((t) => t.promise === undefined).map((t) => t.key).join(', ') || 'none'})`);
      return;
    }
    for (const t of this.byOrder) {
      if (t.promise === undefined) this.report('settle-once', `task ${t.key} never settled`);
    }
    const st = this.sched.stats();
    const ok = this.byOrder.filter((t) => t.final?.fate === 'ok').length;
    const bad = this.byOrder.filter((t) => t.final !== undefined && t.final.fate !== 'ok').length;
    const books = `submitted ${st.submitted}, completed ${st.completed}, failed ${st.failed}, rejected ${st.rejected}, running ${st.running}, queued ${st.queued}, waiting ${st.waiting}, backoff ${st.backoff}`;
    if (st.submitted !== st.completed + st.failed + st.rejected || st.running !== 0 || st.queued !== 0 || st.waiting !== 0 || st.backoff !== 0) this.report('books-balance', `after close: ${books}`);
    else if (st.submitted !== this.byOrder.length || st.completed !== ok || st.failed + st.rejected !== bad) this.report('books-balance', `after close: ${books}; the model saw ${this.byOrder.length} submits, ${ok} ok, ${bad} errors`);
  }
}

/** Runs one trace. `logging`: keep a line per event (for the report of a failing trace). */
export async function runTrace(trace: Trace, logging = false): Promise<RunResult> {
  const run = new Run(trace, logging);
  for (const [name, fn] of Object.entries(CHANNELS)) subscribe(name, fn);
  current = run;
  // The engine's running times (epochNow) and auto pipeline depth read performance.now(), not the pool's
  // clock: point it at the ManualClock while the trace runs. It lives on Performance.prototype, so an own
  // property shadows it and deleting that restores it.
  performance.now = () => run.clock.now() + PERF_OFFSET;
  try {
    run.start();
    await macrotask();
    for (let i = 0; i < trace.steps.length; i++) {
      run.step = i;
      const s = trace.steps[i] as Step;
      if (logging) run.log.push(`${String(i).padStart(3)}: ${formatStep(s)}`);
      await run.apply(s);
      await macrotask();
      run.checkLiveness();
    }
    await run.drain();
  } finally {
    Reflect.deleteProperty(performance, 'now');
    current = undefined;
    for (const [name, fn] of Object.entries(CHANNELS)) unsubscribe(name, fn);
  }
  const verdicts: Partial<Record<Fate, number>> = {};
  for (const t of run.byOrder) if (t.final !== undefined) verdicts[t.final.fate] = (verdicts[t.final.fate] ?? 0) + 1;
  const requeuedThenOk = run.byOrder.filter((t) => t.final?.fate === 'ok' && t.arrivals.some((a) => a.atExit === 'unstarted')).length;
  return { violations: run.violations, log: run.log, tasks: run.byOrder.length, verdicts, requeuedThenOk, closed: run.closeResolved };
}

// ---- shrinking ---------------------------------------------------------------------

/**
 * A smaller trace that still breaks `rule`: drops chunks of steps (halves
 * down to single steps) while the failure stays, then simplifies the
 * configuration one field at a time.
 */
export async function shrink(trace: Trace, rule: RuleName, budget = 400): Promise<Trace> {
  let runs = 0;
  const fails = async (t: Trace): Promise<boolean> => {
    runs++;
    const r = await runTrace(t);
    return r.violations.some((v) => v.rule === rule);
  };
  let best = trace;
  for (let chunk = Math.max(1, best.steps.length >> 1); chunk >= 1 && runs < budget; ) {
    let changed = false;
    for (let i = 0; i + chunk <= best.steps.length && runs < budget; ) {
      const cand = { ...best, steps: [...best.steps.slice(0, i), ...best.steps.slice(i + chunk)] };
      if (await fails(cand)) {
        best = cand;
        changed = true;
      } else i += chunk;
    }
    if (!changed) chunk >>= 1;
  }
  // Submits without their options, one option at a time.
  for (let i = 0; i < best.steps.length && runs < budget; i++) {
    const s = best.steps[i] as Step;
    if (s.op !== 'submit') continue;
    for (const key of ['timeoutMs', 'deadlineMs', 'retry', 'signal', 'priority'] as const) {
      const cur = best.steps[i] as Extract<Step, { op: 'submit' }>;
      if (cur[key] === undefined || runs >= budget) continue;
      const plain = { ...cur };
      delete plain[key];
      const cand = { ...best, steps: best.steps.map((x, j) => (j === i ? plain : x)) };
      if (await fails(cand)) best = cand;
    }
  }
  const simpler: ((c: Config) => Config | undefined)[] = [
    (c) => (c.heartbeat ? { ...c, heartbeat: false } : undefined),
    (c) => (c.probe ? { ...c, probe: false } : undefined),
    (c) => (c.retry !== undefined ? { ...c, retry: undefined } : undefined),
    (c) => (c.maxTasks !== undefined ? { ...c, maxTasks: undefined } : undefined),
    (c) => (c.restartIntensity ? { ...c, restartIntensity: false } : undefined),
    (c) => (c.timeoutMs !== undefined ? { ...c, timeoutMs: undefined } : undefined),
    (c) => (c.pipeline !== 1 ? { ...c, pipeline: 1 } : undefined),
    (c) => (typeof c.size !== 'number' ? { ...c, size: c.size.max } : undefined),
    (c) => (typeof c.size === 'number' && c.size > 1 ? { ...c, size: c.size - 1 } : undefined),
  ];
  for (const f of simpler) {
    const c = f(best.config);
    if (c !== undefined && runs < budget && (await fails({ ...best, config: c }))) best = { ...best, config: c };
  }
  return best;
}
