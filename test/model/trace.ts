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
 * Each trace leans toward one area (Focus): the queue's overflow policies,
 * work stealing (auto pipeline, bursts, one worker running ahead of the
 * others), start-up timeouts, restart intensity (crash loops), sizing
 * (recycling, idle retirement, resize) or dead letters; the others still
 * turn up now and then. RunResult.coverage counts what each trace reached.
 *
 * Determinism: the pool runs on a ManualClock; while a trace runs,
 * `performance.now` is pointed at the same clock (the engine reads
 * `epochNow()` for running times and `performance.now()` for the auto
 * pipeline's depth), so a seed replays exactly.
 */

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ManualClock } from '../../src/time/clock.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { resolvePoolOptions } from '../../src/config/validate.js';
import { resolveRetry, retryDelay } from '../../src/supervision/retry.js';
import type { DeadLetter } from '../../src/dead-letter/sinks.js';
import type { RetryOptions } from '../../src/supervision/retry.js';
import type { RunOptions } from '../../src/api/options.js';
import type { ExitInfo, WorkerEvents } from '../../src/worker/handle.js';
import { mulberry32 } from '../helpers/index.js';
import { PERF_OFFSET, ScriptedWorker, type Arrival } from './scripted-worker.js';
import {
  codeOf,
  errorMessage,
  fateOf,
  judgeKill,
  judgeLiveness,
  judgeQueueVerdict,
  judgeRetry,
  judgeVerdict,
  ModelTask,
  notFull,
  RestartCount,
  type Fate,
  type Overflow,
  type PoolFacts,
  type QueueView,
  type RuleName,
  type Verdict,
  type Violation,
} from './reference.js';

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
  /** false: off; true: the defaults; an object: those limits (the rest default). */
  restartIntensity: boolean | { maxRestarts: number; withinMs: number; maxBarrenRestarts: number; backoffMs: number };
  probe: boolean;
  /** `queue` options (+ the pool's `queueTimeoutMs`); undefined: the defaults (capacity 10,000, reject). */
  queue?: { capacity: number; overflow: Overflow; maxWaiting?: number; queueTimeoutMs?: number } | undefined;
  startTimeoutMs?: number | undefined;
  /** A callback dead-letter sink that throws for one entry in three and rejects for another. */
  deadLetter?: boolean;
  /** Chance that an [Op.Revoke] finds the batches it names already reached (they then run; see scripted-worker.ts). */
  overtake?: number;
}

export type ExitHow = 'code' | 'signal' | 'oom' | 'error';

export type Step =
  | { op: 'submit'; name: number; timeoutMs?: number; deadlineMs?: number; retry?: { attempts: number; baseMs: number; retryAll: boolean }; signal?: boolean; priority?: number; queueTimeoutMs?: number }
  /** `n` plain submits in one go (no turn of the event loop between them: they travel in batches). */
  | { op: 'burst'; n: number; priority?: number }
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

/**
 * What a trace leans toward: the configuration and the step weights favour
 * one area so that each is reached often (every feature still turns up now
 * and then in the others).
 */
export type Focus = 'base' | 'queue' | 'steal' | 'startup' | 'barren' | 'sizing' | 'deadletter';
const FOCI: readonly Focus[] = ['base', 'base', 'queue', 'queue', 'steal', 'steal', 'startup', 'barren', 'sizing', 'deadletter'];

export function generate(seed: number): Trace {
  const r = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const chance = (p: number): boolean => r() < p;
  const focus = pick(FOCI);
  const by = (base: number, m: Partial<Record<Focus, number>>): number => m[focus] ?? base;
  const max = focus === 'steal' ? int(2, 3) : int(1, 3);
  const dynamic = chance(by(0.4, { sizing: 0.8, steal: 0.15 }));
  const config: Config = {
    size: dynamic ? { min: int(0, Math.min(focus === 'sizing' ? 2 : 1, max)), max, idleTimeoutMs: pick([30, 200]) } : max,
    // Only the auto pipeline steals (it sends work ahead of knowing its cost), and only from a worker whose measured service time is short.
    pipeline: focus === 'steal' ? 'auto' : pick([1, 1, 2, 3, 'auto', 'auto'] as const),
    timeoutMs: chance(by(0.35, { steal: 0.1 })) ? int(2, 12) * 10 : undefined,
    abortGraceMs: int(1, 6) * 10,
    retry: chance(by(0.3, { deadletter: 0.5 })) ? { attempts: int(2, 3), baseMs: int(1, 4) * 5, retryAll: chance(0.5) } : undefined,
    maxTasks: chance(by(0.2, { sizing: 0.6, steal: 0.3 })) ? int(focus === 'sizing' ? 1 : 2, 4) : undefined,
    heartbeat: chance(0.25),
    restartIntensity:
      focus === 'barren'
        ? chance(0.8)
          ? { maxRestarts: int(2, 8), withinMs: pick([5000, 20_000]), maxBarrenRestarts: int(0, 3), backoffMs: pick([30, 60, 200]) }
          : true
        : chance(0.3),
    probe: chance(0.3),
  };
  if (focus === 'queue' || chance(0.08)) {
    const overflow = pick(['reject', 'wait', 'wait', 'drop-oldest', 'drop-lowest-priority'] as const);
    const q: NonNullable<Config['queue']> = { capacity: int(1, 3), overflow };
    if (overflow === 'wait') {
      if (chance(0.7)) q.maxWaiting = int(1, 3);
      if (chance(0.6)) q.queueTimeoutMs = pick([20, 50, 150]);
    }
    config.queue = q;
  }
  if (focus === 'startup' || chance(0.08)) config.startTimeoutMs = int(2, 15) * 10;
  if (focus === 'deadletter' || chance(0.1)) config.deadLetter = true;
  if (focus === 'steal' || chance(0.1)) config.overtake = pick([0, 0.5]);
  const overflow = config.queue?.overflow;
  const weights: [Step['op'], number][] = [
    ['submit', by(18, { queue: 22, steal: 6 })],
    ['burst', by(2, { queue: 5, steal: 7 })],
    ['ready', by(7, { startup: 3, barren: 9 })],
    ['loadFail', by(0.15, { startup: 0.3 })],
    ['start', by(15, { steal: 18 })],
    ['finish', by(11, { steal: 15 })],
    ['honour', 3],
    ['flush', by(10, { steal: 12 })],
    ['exit', by(3, { barren: 9, startup: 4 })],
    ['reap', 5],
    ['block', config.heartbeat ? 4 : 0.5],
    ['unblock', config.heartbeat ? 0.5 : 1],
    ['advance', by(10, { startup: 12, queue: 12, steal: 5 })],
    ['abort', by(3, { queue: 5 })],
    ['resize', by(1.2, { sizing: 3 })],
    ['close', 0.5],
    ['terminate', 0.15],
  ];
  const total = weights.reduce((s, [, w]) => s + w, 0);
  const raw = (): number => Math.floor(r() * 1e6);
  // Stealing is for a worker that runs ahead of the others: steal traces mostly pick the last candidate
  // (-1: the newest worker; the pool sends work ahead to the oldest).
  const which = (): number => (focus === 'steal' && chance(0.6) ? -1 : raw());
  const priorities = chance(overflow === 'drop-lowest-priority' ? 0.9 : 0.5);
  const steps: Step[] = [];
  const pickOp = (): Step['op'] => {
    let x = r() * total;
    for (const [o, w] of weights) {
      x -= w;
      if (x < 0) return o;
    }
    return 'submit';
  };
  const push = (op: Step['op']): void => {
    switch (op) {
      case 'submit': {
        const s: Step = { op: 'submit', name: chance(0.03) ? 2 : int(0, 1) };
        if (chance(0.4)) s.timeoutMs = int(2, 10) * 10;
        if (chance(0.12)) s.deadlineMs = int(5, 30) * 10;
        if (chance(0.25)) s.retry = { attempts: int(1, 3), baseMs: int(1, 4) * 5, retryAll: chance(0.5) };
        if (chance(0.3)) s.signal = true;
        if (priorities && chance(overflow === 'drop-lowest-priority' ? 0.6 : 0.15)) s.priority = int(-2, 2);
        if (overflow === 'wait' && chance(0.3)) s.queueTimeoutMs = pick([10, 40, 100]);
        steps.push(s);
        return;
      }
      case 'burst': {
        const s: Step = { op: 'burst', n: int(2, focus === 'steal' ? 7 : 5) };
        if (priorities && chance(0.3)) s.priority = int(-2, 2);
        steps.push(s);
        return;
      }
      case 'finish':
        steps.push({ op, w: which(), k: raw(), ok: chance(0.75) });
        return;
      case 'honour':
      case 'block':
        steps.push({ op, w: raw(), k: raw() });
        return;
      case 'flush':
        steps.push({ op, w: which(), race: chance(0.15) });
        return;
      case 'exit':
        steps.push({ op, w: raw(), flush: chance(0.5), how: pick(['code', 'signal', 'oom', 'error'] as const) });
        return;
      case 'advance':
        steps.push({ op, ms: pick([1, 5, 10, 25, 50, 120, 200]) });
        return;
      case 'abort':
        steps.push({ op, t: raw() });
        return;
      case 'resize':
        steps.push({ op, n: int(0, max) });
        return;
      case 'close':
        steps.push({ op, timeoutMs: pick([Infinity, Infinity, 100, 400]) });
        return;
      case 'terminate':
        steps.push({ op });
        return;
      case 'start':
        steps.push({ op, w: which() });
        return;
      default:
        steps.push({ op, w: raw() });
    }
  };
  const n = int(20, 80);
  if (focus !== 'steal') {
    for (let i = 0; i < n; i++) push(pickOp());
  } else {
    // Work stealing needs workers whose measured service time is short (the auto pipeline then sends
    // several tasks ahead), bursts, and one worker running ahead of another: the workers start first,
    // and most steps are a round of one worker's work, a millisecond long.
    for (let i = 0; i < max; i++) push('ready');
    for (let i = 0; i < n; i++) {
      const x = r();
      if (x < 0.1) push('burst');
      else if (x < 0.85) {
        const w = which();
        steps.push({ op: 'start', w });
        if (chance(0.4)) steps.push({ op: 'start', w });
        steps.push({ op: 'finish', w, k: 0, ok: chance(0.9) });
        if (chance(0.3)) steps.push({ op: 'finish', w, k: 0, ok: chance(0.9) });
        if (chance(0.4)) steps.push({ op: 'advance', ms: 1 });
        steps.push({ op: 'flush', w, race: false });
      } else push(pickOp());
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
      if (s.queueTimeoutMs !== undefined) o.push(`queueTimeoutMs ${s.queueTimeoutMs}`);
      return `submit ${s.name === 2 ? UNKNOWN : (NAMES[s.name] as string)}${o.length > 0 ? ` {${o.join(', ')}}` : ''}`;
    }
    case 'burst':
      return `burst of ${s.n} submits of a${s.priority === undefined ? '' : ` {priority ${s.priority}}`}`;
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
  /** How often each area the rules judge was reached (summed over traces by the test: each must be reached). */
  coverage: Record<string, number>;
}

/** The task channels, subscribed once, routed to the trace now running. */
let current: Run | undefined;
const CHANNELS = {
  'sluice:task:dispatched': (m: unknown) => current?.onDispatched(m as Ev),
  'sluice:task:completed': (m: unknown) => current?.onVerdict(m as Ev, 'ok', undefined, true, 'completed'),
  'sluice:task:failed': (m: unknown) => current?.onVerdict(m as Ev, undefined, (m as Ev).error, true, 'failed'),
  'sluice:task:retried': (m: unknown) => current?.onVerdict(m as Ev, undefined, (m as Ev).error, false, 'retried'),
  'sluice:task:rejected': (m: unknown) => current?.onVerdict(m as Ev, undefined, (m as Ev).error, true, 'rejected'),
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

const DEFAULT_INTENSITY = { maxRestarts: 100, withinMs: 10_000, maxBarrenRestarts: 5, backoffMs: 1000 };

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
  readonly coverage: Record<string, number> = {};
  /** Decides, per [Op.Revoke], whether the batches it names were reached first (cfg.overtake). */
  readonly #revokeRng: () => number;

  // The queue (overflow policies).
  /** Submits since the pool last had a turn to flush: tasks the model cannot see in live workers' outboxes yet. */
  sameTick = 0;
  /** The task whose submit() is under way: queue-full and drop verdicts come only from inside one. */
  submitting: ModelTask | undefined = undefined;
  /** Calls waiting for room (overflow 'wait'), oldest first, as the model follows them. */
  waitList: ModelTask[] = [];
  /** Workers that may be draining after a shrinking resize (the engine does not tell them). */
  readonly maybeDraining = new Set<ScriptedWorker>();

  // Recycling.
  /** Workers whose recycle is under way (the engine recycles one at a time). */
  readonly recyclingNow = new Set<number>();
  /** Workers the engine began to recycle while it handled the exit in progress. */
  readonly #recycledDuringExit = new Set<number>();
  /** worker:recycled was published: the next spawn is that worker's replacement. */
  #replacing: number | undefined = undefined;
  readonly replacementOf = new Map<number, number>();

  // Start-up, restart intensity, failures.
  inResize = false;
  intensity: RestartCount | undefined = undefined;
  startFailures = 0;
  everReadyAt: number | undefined = undefined;
  loadFailed = false;
  /** Causes the model saw for a failure since the pool last ran: a module that cannot load, restart intensity. */
  moduleCause: string | undefined = undefined;
  intensityCause: string | undefined = undefined;
  wasFailed = false;
  /** Restart intensity holds spawning back until then. */
  holdUntil = 0;
  /** The worker whose exit the engine is handling right now. */
  exiting: ScriptedWorker | undefined = undefined;

  // Dead letters.
  dlEntries = 0;
  dlFailures = 0;

  constructor(trace: Trace, logging: boolean) {
    this.trace = trace;
    this.cfg = trace.config;
    this.#logging = logging;
    this.max = typeof this.cfg.size === 'number' ? this.cfg.size : this.cfg.size.max;
    this.min = typeof this.cfg.size === 'number' ? this.cfg.size : this.cfg.size.min;
    this.#revokeRng = mulberry32(trace.seed ^ 0x5ee1);
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

  count(what: string, n = 1): void {
    this.coverage[what] = (this.coverage[what] ?? 0) + n;
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
    const ri = c.restartIntensity;
    const options = resolvePoolOptions({
      module: 'file:///model/scripted-tasks.js',
      name: 'model',
      size: c.size,
      pipeline: c.pipeline,
      timeoutMs: c.timeoutMs,
      abortGraceMs: c.abortGraceMs,
      retry: c.retry === undefined ? undefined : this.#retryOptions(c.retry),
      clock: this.clock,
      ...(c.queue === undefined
        ? {}
        : {
            queue: { capacity: c.queue.capacity, overflow: c.queue.overflow, ...(c.queue.maxWaiting === undefined ? {} : { maxWaiting: c.queue.maxWaiting }) },
            ...(c.queue.queueTimeoutMs === undefined ? {} : { queueTimeoutMs: c.queue.queueTimeoutMs }),
          }),
      ...(c.startTimeoutMs === undefined ? {} : { startTimeoutMs: c.startTimeoutMs }),
      ...(c.deadLetter === true ? { deadLetter: { kind: 'callback', onEntry: (e: DeadLetter) => this.#onDeadLetter(e) } } : {}),
      supervision: {
        ...(c.maxTasks === undefined ? {} : { recycle: { maxTasks: c.maxTasks } }),
        ...(c.heartbeat ? { heartbeat: HEARTBEAT } : {}),
        restartIntensity: ri === false ? false : ri === true ? {} : ri,
      },
    });
    if (ri !== false) this.intensity = new RestartCount(ri === true ? DEFAULT_INTENSITY : ri);
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
    const replaces = this.#replacing;
    this.#replacing = undefined;
    if (replaces !== undefined) this.replacementOf.set(id, replaces);
    // A resize, a recycle replacement and a probe of a failed pool are not held back by restart intensity.
    if (this.sched !== undefined && this.now() < this.holdUntil && !this.inResize && replaces === undefined && this.sched.state !== 'failed') {
      this.report('respawn', `worker ${id} spawned at ${this.now()}, within restart intensity's respawn delay (until ${this.holdUntil}, barren streak ${this.intensity?.barren ?? 0})`);
    }
    const w = new ScriptedWorker(
      id,
      events,
      {
        now: () => this.now(),
        arrived: (a, batch) => this.#arrived(a, batch),
        revoked: (a, held) => {
          this.count(held ? 'revoke answered (held)' : 'revoke answered (when reached)');
          this.note(`w${a.worker.id} gives back #${a.seq} ${a.corr ?? '?'} (revoked${held ? ', held' : ' as reached'}, not started)`);
        },
        overtaken: (wk, seqs) => {
          const o = this.cfg.overtake ?? 0;
          const overtaken = o > 0 && this.#revokeRng() < o;
          this.count('revoke messages');
          this.note(`w${wk.id} gets Revoke ${seqs.map((x) => `#${x}`).join(' ')}${overtaken ? ' after reaching those batches' : ''}`);
          return overtaken;
        },
        revokeSeen: (_a, _seq, what) => this.count(`revoke ${what}`),
        aborted: (a, kind) => this.note(`w${a.worker.id} gets Abort #${a.seq} (${a.corr ?? '?'}, kind ${kind}) while ${a.startedAt === undefined ? 'not started' : 'running'}`),
        terminated: (wk, why) => this.#terminated(wk, why),
        other: () => undefined,
      },
      { probe: this.cfg.probe, heartbeat: this.cfg.heartbeat, names: NAMES },
    );
    this.workers.push(w);
    this.note(`pool spawns w${id}${replaces === undefined ? '' : ` (replacing w${replaces})`}`);
    return w;
  }

  /** A worker still starting goes away: what the pool had assigned to it goes back to the head of the queue, unseen. */
  #startingGone(w: ScriptedWorker): void {
    if (w.state !== 'starting') return;
    for (const t of this.byOrder) if (t.final === undefined && t.arrivals.length === 0) t.maybeRequeued = true;
  }

  #terminated(w: ScriptedWorker, why: string): void {
    this.note(`pool stops w${w.id} (${why})`);
    this.#startingGone(w);
    const now = this.now();
    judgeKill(w, why, now, this.cfg.abortGraceMs, this, this.report);
    if (why === 'init') {
      this.count('start timeout kills');
      const limit = this.cfg.startTimeoutMs;
      if (limit === undefined || now < w.spawnedAt + limit) this.report('kill-justified', `worker ${w.id} stopped for init at ${now}, spawned at ${w.spawnedAt}: its start-up time (startTimeoutMs ${String(limit)}) is not over`);
      if (this.everReadyAt === undefined) this.report('start-timeout', `worker ${w.id} killed for its start-up time before the pool was ever ready: the pool should fail with ModuleLoadError`);
    }
    if (why === 'retire') {
      const draining = this.maybeDraining.has(w);
      if (!draining) this.count('idle retirements');
      const others = this.workers.filter((o) => o !== w && !o.exited && o.stopWhy === undefined).length;
      if (!draining && others < this.min) this.report('idle-min', `worker ${w.id} retired at ${now} leaving ${others} workers that are not stopping (min ${this.min})`);
    }
    if (why === 'recycle') this.count('recycles');
  }

  // ---- exits and flushes, with the model's supervision bookkeeping ----------------------

  /**
   * Worker `w` exits. Restart intensity and start failures are counted
   * here, as the engine counts them, before the exit: the engine settles
   * tasks with the failure while it handles the exit.
   */
  exitWorker(w: ScriptedWorker, info: ExitInfo): void {
    if (w.exited) return;
    const stateBefore = this.sched.state;
    const why = w.stopWhy;
    const wasReady = w.state === 'ready';
    const now = this.now();
    let expect: string | undefined;
    let stateMid = stateBefore;
    let hold = 0;
    const restart = why === undefined || why === 'stalled' || why === 'init';
    if (this.intensity !== undefined && restart && (stateBefore === 'running' || stateBefore === 'starting')) {
      const r = this.intensity.record(now, w.answered === 0);
      if (r.fail) {
        this.intensityCause = `restart intensity: exit of w${w.id} at ${now}, ${this.intensity.barren} barren in a row (max ${this.intensity.policy.maxBarrenRestarts}), or more than ${this.intensity.policy.maxRestarts} within ${this.intensity.policy.withinMs} ms`;
        expect = this.intensityCause;
        stateMid = 'failed';
      } else hold = r.delay;
    }
    if (!wasReady && (why === undefined || why === 'init') && stateMid !== 'failed' && !(this.everReadyAt !== undefined && this.intensity !== undefined)) {
      this.startFailures++;
      if (this.everReadyAt === undefined || this.startFailures >= 3) {
        this.moduleCause = `w${w.id} exited before it was ready at ${now} (${this.everReadyAt === undefined ? 'the pool was never ready' : `${this.startFailures} failed starts in a row`})`;
        if (stateBefore !== 'closed') expect ??= this.moduleCause;
      }
    }
    this.#startingGone(w);
    this.exiting = w;
    try {
      w.exit(info);
    } finally {
      this.exiting = undefined;
    }
    if (hold > 0) {
      this.holdUntil = now + hold;
      this.count('respawn delays');
    }
    this.maybeDraining.delete(w);
    this.recyclingNow.delete(w.id);
    const old = this.replacementOf.get(w.id);
    // A replacement that died before it was ready: the old worker stays on, its recycle over,
    // unless the engine, handling this very exit, began a new recycle of it (a due worker is recycled again).
    if (old !== undefined && w.readyAt === undefined && !this.#recycledDuringExit.has(old)) this.recyclingNow.delete(old);
    this.#recycledDuringExit.clear();
    if (expect !== undefined && this.sched.state !== 'failed') this.report('pool-fails-justified', `the pool should have failed (${expect}), it is ${this.sched.state}`);
  }

  /** Worker `w` sends its buffered results. */
  flushWorker(w: ScriptedWorker, force = false): number {
    return w.flush(force);
  }

  readyWorker(w: ScriptedWorker): boolean {
    const first = this.everReadyAt === undefined;
    if (first) for (const t of this.byOrder) if (t.final === undefined && t.arrivals.length === 0) t.queuedBeforeReady = true;
    if (!w.ready()) return false;
    this.everReadyAt ??= this.now();
    this.startFailures = 0;
    return true;
  }

  // ---- the queue -------------------------------------------------------------------

  /** The model's view of the queue now (`exclude`: a task not to count, the incoming one). */
  queueView(exclude?: ModelTask): QueueView {
    const o = this.sched.options;
    const now = this.now();
    const front = new Set<ModelTask>();
    const unsent: ModelTask[] = [];
    for (const t of this.byOrder) {
      if (t === exclude || t.final !== undefined || now < t.backoffUntil) continue;
      const a = t.current;
      if (a !== undefined) {
        const dead = (a.worker.exited && a.atExit === 'unstarted') || (a.revoked && a.flushed);
        if (!dead) continue;
        front.add(t);
      }
      unsent.push(t);
    }
    // A draining worker killed (a timeout, a cancel) still counts until it has gone: the pool places work again when it exits.
    for (const w of this.maybeDraining) if (w.exited || w.stopWhy === 'retire' || (w.stopWhy === undefined && w.arrivals.every((x) => x.flushed))) this.maybeDraining.delete(w);
    const depth = this.cfg.pipeline === 'auto' ? 1 : this.cfg.pipeline;
    const maxTasks = this.cfg.maxTasks ?? Infinity;
    // The auto pipeline's depth is 1 to start with and never more than 128 (src/engine/pipeline.ts PIPELINE_MAX).
    const deepest = this.cfg.pipeline === 'auto' ? 128 : this.cfg.pipeline;
    let startingRoom = 0;
    let readyRoom = 0;
    let readyRoomMost = 0;
    for (const w of this.workers) {
      if (w.exited || w.stopWhy !== undefined) continue;
      if (w.state === 'starting') startingRoom += Math.min(depth, maxTasks);
      else {
        const unanswered = w.arrivals.filter((x) => !x.flushed).length;
        const left = maxTasks - (w.arrivals.length - w.revokedAnswered);
        readyRoomMost += Math.max(0, Math.min(deepest - unanswered, left));
        if (!this.recyclingNow.has(w.id)) readyRoom += Math.max(0, Math.min(depth - unanswered, left));
      }
    }
    // Tasks submitted in this same turn may sit in a live worker's outbox, unseen until the pool flushes.
    const earlier = Math.max(0, this.sameTick - (this.submitting === undefined ? 0 : 1));
    const hiddenReady = Math.min(readyRoomMost, earlier);
    readyRoom = Math.max(0, readyRoom - earlier);
    // Tasks settled before they were sent since the oldest starting worker spawned or the oldest waiting call came.
    let ghosts = 0;
    const since = Math.min(...this.workers.filter((w) => w.state === 'starting' && !w.exited && w.stopWhy === undefined).map((w) => w.spawnedAt), ...this.waitList.map((t) => t.submittedAt));
    for (const t of this.byOrder) {
      const f = t.final;
      const unsent = f?.attempt === undefined || (f.attempt.worker.exited && f.attempt.atExit === 'unstarted') || (f.attempt.revoked && f.attempt.flushed);
      if (f !== undefined && unsent && (f.fate === 'aborted' || f.fate === 'deadline') && f.time >= since) ghosts++;
    }
    return {
      capacity: o.capacity,
      overflow: (typeof o.overflow === 'function' ? 'reject' : o.overflow) as Overflow,
      maxWaiting: o.maxWaiting,
      agingRate: o.agingRate,
      unsent,
      waiting: this.waitList,
      startingRoom,
      ghosts,
      requeued: this.workers.some((w) => w.readyAt === undefined && w.stopWhy !== undefined && !w.exited),
      readyRoom,
      hiddenReady,
      drain: this.maybeDraining.size > 0 || this.recyclingNow.size > 0,
      front,
    };
  }

  /** Follows the engine's waiting list (overflow 'wait'): calls leave it settled or admitted, oldest first. */
  syncWaiting(): void {
    if (this.cfg.queue?.overflow !== 'wait') return;
    this.waitList = this.waitList.filter((t) => t.final === undefined);
    const n = this.sched.stats().waiting;
    if (n > this.waitList.length) this.report('wait-list', `${n} calls wait, the model saw ${this.waitList.length} left waiting`);
    while (this.waitList.length > n) {
      const t = this.waitList.shift() as ModelTask;
      this.count('admitted after waiting');
      this.note(`${t.key} admitted after waiting`);
    }
  }

  /** After each step: the queue's standing rules. */
  checkQueue(): void {
    const st = this.sched.state;
    if (st === 'failed' || st === 'closed') return;
    this.syncWaiting();
    const view = this.queueView();
    const waiting = this.waitList.length;
    if (waiting > view.maxWaiting) this.report('wait-list', `${waiting} calls wait (maxWaiting ${view.maxWaiting})`);
    if (waiting > 0) {
      const bad = notFull(view, view.capacity + waiting, `${waiting} calls wait (${this.waitList.map((t) => t.key).join(', ')})`, 'wait-list');
      if (bad !== undefined) this.report(bad.rule, bad.message);
      for (const t of this.waitList) {
        if (this.now() >= t.submittedAt + t.queueTimeoutMs) this.report('queue-timeout', `${t.key} has waited ${this.now() - t.submittedAt} ms for room (queueTimeoutMs ${t.queueTimeoutMs}) with no verdict`);
      }
    }
    // A task certainly in the queue (beyond what starting workers may hold) while a live worker has room.
    if (!view.drain && view.unsent.length - waiting > view.startingRoom && view.readyRoom > 0) {
      this.report(view.requeued ? 'requeue-pumps' : 'queue-beyond-room', `${view.unsent.length - waiting} unsent tasks beyond the calls waiting (${view.unsent.filter((t) => !this.waitList.includes(t)).map((t) => t.key).join(', ')}), starting workers have room for ${view.startingRoom}, and live workers have room for ${view.readyRoom} more`);
    }
  }

  // ---- dead letters --------------------------------------------------------------

  #onDeadLetter(e: DeadLetter): unknown {
    const k = ++this.dlEntries;
    const t = this.tasks.get(e.correlationId);
    if (t === undefined) {
      this.report('dead-letter', `a dead-letter entry for ${e.correlationId}, which the model never submitted`);
    } else {
      const a = t.current;
      const live = a !== undefined && a.startedAt === undefined && !(a.revoked && a.flushed) && !(a.worker.exited && this.exiting !== a.worker);
      t.deadLetters.push({ reason: e.reason, attempts: e.attempts, expected: t.startedAttempts + (live ? 1 : 0) });
    }
    this.note(`dead letter for ${e.correlationId} (${e.reason}, attempts ${e.attempts})${k % 3 === 0 ? ': the sink throws' : k % 3 === 1 ? ': the sink rejects' : ''}`);
    if (k % 3 === 0) {
      this.dlFailures++;
      throw new Error('model: the dead-letter sink throws');
    }
    if (k % 3 === 1) {
      this.dlFailures++;
      return Promise.reject(new Error('model: the dead-letter sink rejects'));
    }
    return undefined;
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
    const maxTasks = this.cfg.maxTasks;
    if (maxTasks !== undefined && w.arrivals.length - w.revokedAnswered > maxTasks) this.report('recycle-exact', `w${w.id} was sent its task number ${w.arrivals.length} (${a.corr ?? '?'}; ${w.revokedAnswered} given back), recycle.maxTasks is ${maxTasks}`);
    const t = a.corr === null ? undefined : this.tasks.get(a.corr);
    if (t === undefined) return;
    if (this.waitList.includes(t)) {
      this.syncWaiting();
      if (this.waitList.includes(t)) this.report('wait-list', `${t.key} sent to w${w.id} while calls submitted before it still wait (${this.waitList.slice(0, this.waitList.indexOf(t)).map((x) => x.key).join(', ')}): admitted out of order`);
    }
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
    this.recyclingNow.add(ev.workerId);
    if (this.exiting !== undefined) this.#recycledDuringExit.add(ev.workerId);
    this.#replacing = ev.workerId;
    this.note(`pool recycles w${ev.workerId}`);
  }

  onVerdict(ev: Ev, fate: Fate | undefined, error: unknown, final: boolean, channel: Verdict['channel']): void {
    const t = this.#task(ev);
    if (t === undefined) return;
    const f = fate ?? fateOf(error);
    const v: Verdict = { fate: f, time: this.now(), step: this.step, final, error, attempt: t.current, channel };
    this.note(`verdict ${t.key}: ${f}${final ? '' : ' (retry)'}${f === 'ok' ? '' : ` "${errorMessage(error).slice(0, 100)}"`}`);
    if (t.final !== undefined) {
      this.report('settle-once', `task ${t.key} got a ${final ? 'final' : 'retry'} verdict (${f}) after its final verdict (${t.final.fate})`);
      return;
    }
    if (f === 'queue-full' || f === 'queue-timeout' || f === 'dropped') {
      const view = this.queueView(this.submitting);
      this.count(f === 'dropped' ? `drops (${view.overflow})` : f === 'queue-full' ? `queue full (${view.overflow})` : 'queue timeouts');
      judgeQueueVerdict(t, v, this.submitting, view, this.now(), this.report);
    } else {
      judgeVerdict(t, v, this, this.report);
    }
    if (f === 'pool-failed') {
      const code = codeOf(error);
      const cause = code === 'ERR_SLUICE_POOL_FAILED' ? this.intensityCause : code === 'ERR_SLUICE_MODULE_LOAD' ? this.moduleFailure() : undefined;
      if (cause === undefined) this.report('pool-fails-justified', `task ${t.key} got ${code ?? '?'} ("${errorMessage(error).slice(0, 120)}"), a cause the model did not see (module: ${this.moduleFailure() ?? 'none'}; intensity: ${this.intensityCause ?? 'none'})`);
    }
    judgeRetry(t, v, this, this.report);
    t.verdicts.push(v);
    t.judgedUpTo = t.arrivals.length;
    if (!final && t.retry !== undefined) t.backoffUntil = this.now() + retryDelay(t.retry, t.startedAttempts);
    if (final) t.final = v;
  }

  /** Why the pool may fail with ModuleLoadError now, if it may. */
  moduleFailure(): string | undefined {
    if (this.loadFailed) return 'a worker could not load the module';
    return this.moduleCause ?? this.startTimeoutCause();
  }

  /** A worker passed startTimeoutMs still starting (neither stopped nor gone) before the pool was ever ready. */
  startTimeoutCause(): string | undefined {
    const limit = this.cfg.startTimeoutMs;
    if (limit === undefined) return undefined;
    const now = this.now();
    for (const w of this.workers) {
      const due = w.spawnedAt + limit;
      if (due > now) continue;
      if ((this.everReadyAt !== undefined && this.everReadyAt < due) || (w.readyAt !== undefined && w.readyAt < due) || (w.stopAt !== undefined && w.stopAt < due) || (w.exitedAt !== undefined && w.exitedAt < due)) continue;
      return `w${w.id}, spawned at ${w.spawnedAt}, was still starting at ${due} (startTimeoutMs ${limit}) and the pool was never ready`;
    }
    return undefined;
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

  /** The candidate `raw` names, modulo their number (a negative one counts from the end). */
  #pickW(cands: ScriptedWorker[], raw: number): ScriptedWorker | undefined {
    const n = cands.length;
    return n === 0 ? undefined : cands[((raw % n) + n) % n];
  }

  submit(s: Extract<Step, { op: 'submit' }>): void {
    const key = `t${this.byOrder.length + 1}`;
    const name = s.name === 2 ? UNKNOWN : (NAMES[s.name] as string);
    const opts: RunOptions = { correlationId: key };
    if (s.timeoutMs !== undefined) opts.timeoutMs = s.timeoutMs;
    if (s.deadlineMs !== undefined) opts.deadlineMs = s.deadlineMs;
    if (s.retry !== undefined) opts.retry = this.#retryOptions(s.retry);
    if (s.priority !== undefined) opts.priority = s.priority;
    if (s.queueTimeoutMs !== undefined) opts.queueTimeoutMs = s.queueTimeoutMs;
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
      index: this.byOrder.length,
      priority: s.priority ?? 0,
      queueTimeoutMs: s.queueTimeoutMs ?? options.queueTimeoutMs,
    });
    this.tasks.set(key, t);
    this.byOrder.push(t);
    this.note(`submit ${key} ${formatStep(s).slice(7)}`);
    const wait = this.cfg.queue?.overflow === 'wait';
    if (wait) this.syncWaiting();
    const before = this.waitList.length;
    const view = wait ? this.queueView(t) : undefined;
    this.submitting = t;
    this.sameTick++;
    let promise: Promise<unknown>;
    try {
      promise = this.sched.submit(name, key, opts);
    } finally {
      this.submitting = undefined;
    }
    promise.then(
      (value) => this.#settled(t, { ok: true, value }),
      (error: unknown) => this.#settled(t, { ok: false, error }),
    );
    if (view !== undefined && t.final === undefined) {
      const n = this.sched.stats().waiting;
      if (n === before + 1) {
        this.waitList.push(t);
        this.count('calls waited');
        this.note(`${key} waits for room`);
        const bad = notFull(view, view.capacity, `${key} was left waiting for room`);
        if (bad !== undefined) this.report(bad.rule, bad.message);
      } else if (n !== before) {
        this.report('wait-list', `submit of ${key} took the waiting calls from ${before} to ${n}`);
      }
    }
  }

  async apply(s: Step): Promise<void> {
    const ws = this.workers;
    switch (s.op) {
      case 'submit':
        this.submit(s);
        return;
      case 'burst':
        for (let i = 0; i < s.n; i++) this.submit({ op: 'submit', name: 0, ...(s.priority === undefined ? {} : { priority: s.priority }) });
        return;
      case 'ready': {
        const w = this.#pickW(ws.filter((x) => x.state === 'starting' && x.stopWhy === undefined), s.w);
        if (w !== undefined && this.readyWorker(w)) this.note(`w${w.id} ready`);
        return;
      }
      case 'loadFail': {
        const w = this.#pickW(ws.filter((x) => x.state === 'starting' && x.stopWhy === undefined), s.w);
        if (w === undefined) return;
        const was = this.loadFailed;
        this.loadFailed = true;
        if (w.loadFail()) this.note(`w${w.id} fails to load its module`);
        else this.loadFailed = was;
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
        this.flushWorker(w, true);
        return;
      }
      case 'exit': {
        const alive = ws.filter((x) => !x.exited && x.stopWhy === undefined);
        const ready = alive.filter((x) => x.state === 'ready');
        // Mostly a ready worker; one time in ten any live one (a worker that dies while starting).
        const w = this.#pickW(s.w % 10 !== 0 ? ready : alive, s.w);
        if (w === undefined) return;
        if (s.flush && w.blockedBy === undefined) this.flushWorker(w);
        this.note(`w${w.id} exits (${s.how}${s.flush ? ', flushed first' : ''}; running ${w.running.map((a) => a.corr).join(',') || '-'}, unsent ${w.buffered.map((a) => a.corr).join(',') || '-'}, inbox ${w.inbox.map((a) => a.corr).join(',') || '-'})`);
        this.exitWorker(w, exitInfo(s.how));
        return;
      }
      case 'reap': {
        const w = this.#pickW(ws.filter((x) => !x.exited && x.stopWhy !== undefined), s.w);
        if (w === undefined) return;
        this.note(`w${w.id} ends after the pool's ${w.stopWhy ?? '?'} (running ${w.running.map((a) => a.corr).join(',') || '-'}, unsent ${w.buffered.map((a) => a.corr).join(',') || '-'}, inbox ${w.inbox.map((a) => a.corr).join(',') || '-'})`);
        this.exitWorker(w, w.stopWhy === 'stop' ? { code: 0, signal: null, error: undefined, oom: false } : { code: 1, signal: null, error: undefined, oom: false });
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
        const live = ws.filter((x) => !x.exited && x.stopWhy === undefined);
        if (before === 'running' || before === 'starting') {
          const target = Math.min(this.max, Math.max(this.min, s.n));
          // Shrinking: any worker with work may be put to drain (the engine tells it nothing).
          if (target < live.length) {
            for (const x of live) if (x.arrivals.some((a) => !a.flushed)) this.maybeDraining.add(x);
            // A worker that becomes ready while others drain puts what it was assigned back in the queue.
            if (live.some((x) => x.state === 'starting')) for (const t of this.byOrder) if (t.final === undefined && t.arrivals.length === 0) t.maybeRequeued = true;
          }
        }
        this.inResize = true;
        try {
          this.sched.resize(s.n);
        } finally {
          this.inResize = false;
        }
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

  /** Live workers sent their maxTasks tasks (not counting those given back) that answered them all. */
  #dueWorkers(): ScriptedWorker[] {
    const maxTasks = this.cfg.maxTasks;
    if (maxTasks === undefined) return [];
    return this.workers.filter((w) => w.state === 'ready' && w.stopWhy === undefined && w.arrivals.length - w.revokedAnswered >= maxTasks && w.arrivals.every((a) => a.flushed));
  }

  /** After each step (and drain round): liveness, the queue, the pool's failure, start-up, recycling, refilling. */
  checkLiveness(): void {
    judgeLiveness(this.byOrder, this.workers, this.cfg.abortGraceMs, this.now(), this.report);
    this.checkQueue();
    this.checkPool();
  }

  checkPool(): void {
    const st = this.sched.state;
    const now = this.now();
    if (st === 'failed') {
      if (!this.wasFailed) {
        this.wasFailed = true;
        const module = this.moduleFailure();
        const cause = this.intensityCause ?? module;
        this.count(this.intensityCause !== undefined ? 'pool failed (restart intensity)' : module !== undefined && module === this.startTimeoutCause() && this.moduleCause === undefined && !this.loadFailed ? 'pool failed (start timeout)' : 'pool failed (module)');
        if (cause === undefined) this.report('pool-fails-justified', `the pool failed by ${now} with no cause the model saw`);
      }
      // Every pending task is rejected with the failure: those on a worker as that worker exits.
      for (const t of this.byOrder) {
        if (t.final !== undefined) continue;
        const a = t.current;
        if (a === undefined || a.worker.exited || (a.revoked && a.flushed)) this.report('fail-rejects-pending', `the pool is failed and ${t.key} is still pending with no attempt on a live worker (${a === undefined ? 'none' : `w${a.worker.id}#${a.seq}`})`);
      }
    } else if (this.wasFailed && st === 'running') {
      // Recovered (a probe stayed up): restart intensity starts over.
      this.wasFailed = false;
      this.count('pool recovered');
      this.intensity?.reset();
      this.intensityCause = undefined;
    }
    // Start-up time.
    const limit = this.cfg.startTimeoutMs;
    if (limit !== undefined) {
      for (const w of this.workers) {
        if (w.state === 'starting' && w.stopWhy === undefined && now >= w.spawnedAt + limit) this.report('start-timeout', `w${w.id}, spawned at ${w.spawnedAt}, is still starting at ${now} and was not stopped (startTimeoutMs ${limit})`);
      }
      const cause = this.startTimeoutCause();
      if (cause !== undefined && st !== 'failed') this.report('start-timeout', `${cause}: the pool should have failed with ModuleLoadError, it is ${st}`);
    }
    if (st !== 'running') return;
    // Recycling: a worker sent its maxTasks that answered them all has to go (one recycle at a time).
    if (this.recyclingNow.size === 0) {
      for (const w of this.#dueWorkers()) {
        this.report('recycle-due', `w${w.id} was sent ${w.arrivals.length} tasks (maxTasks ${String(this.cfg.maxTasks)}; ${w.answered} answered, ${w.revokedAnswered} given back) and answered them all, no recycle is under way, and it was not recycled`);
      }
    }
    // Refilling: at once, or once restart intensity's respawn delay is over.
    if (now >= this.holdUntil) {
      const alive = this.workers.filter((w) => !w.exited).length;
      const unsent = this.queueView().unsent.length;
      const need = Math.max(this.min, unsent > 0 ? 1 : 0);
      if (alive < need) this.report('respawn', `${alive} workers alive at ${now} (min ${this.min}, ${unsent} unsent tasks)${this.holdUntil > 0 ? `, the respawn delay ended at ${this.holdUntil}` : ''}`);
    }
  }

  /** One worker, in the drain: it ends if told to stop, becomes ready if starting, else does all its work and sends the results. */
  #drainWorker(w: ScriptedWorker): void {
    if (w.exited) return;
    if (w.stopWhy !== undefined) {
      this.exitWorker(w, w.stopWhy === 'stop' ? { code: 0, signal: null, error: undefined, oom: false } : { code: 1, signal: null, error: undefined, oom: false });
      return;
    }
    if (w.state === 'starting') {
      this.readyWorker(w);
      return;
    }
    if (w.blockedBy !== undefined) w.finish(w.blockedBy, true);
    for (const a of [...w.running]) w.finish(a, true);
    for (let a = w.startNext(); a !== undefined; a = w.startNext()) w.finish(a, true);
    this.flushWorker(w);
  }

  /** After the script: close (if nobody did) and let every worker do all its work until close resolves. */
  async drain(): Promise<void> {
    this.step = -1;
    this.note('-- drain: close, then every worker does all its work --');
    if (this.closeAt === undefined && this.terminateAt === undefined) await this.apply({ op: 'close', timeoutMs: Infinity });
    let quiet = 0;
    for (let round = 0; round < 400 && !this.closeResolved && quiet < 10; round++) {
      const before = this.activity;
      // Twice over: a worker spawned to replace one that exited becomes ready in the same round (before a short startTimeoutMs).
      for (let pass = 0; pass < 2; pass++) for (const w of [...this.workers]) this.#drainWorker(w);
      await macrotask();
      this.sameTick = 0;
      this.checkLiveness();
      await this.advance(round < 30 ? 20 : 1000, round < 30 ? 1 : 50);
      await macrotask();
      // Past the first rounds (retry backoffs, grace timers), ten rounds of nothing happening: it is stuck.
      quiet = round >= 30 && this.activity === before ? quiet + 1 : 0;
    }
    await macrotask();
    if (!this.closeResolved) {
      const st = this.sched.stats();
      const due = this.#dueWorkers();
      if (due.length > 0) {
        this.report('recycle-due', `close() never resolved: ${due.map((w) => `w${w.id}`).join(', ')} sent its maxTasks (${String(this.cfg.maxTasks)}) and answered them all, was never recycled, and holds its place (state ${st.state}, queued ${st.queued}, workers ${st.size}; pending: ${this.byOrder.filter((t) => t.promise === undefined).map((t) => t.key).join(', ') || 'none'})`);
        return;
      }
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
    // Work stealing: what was really taken back.
    const givenBack = this.workers.reduce((n, w) => n + w.revokedAnswered, 0);
    this.count('stolen (Revoked answers received)', givenBack);
    if (st.stolen !== givenBack) this.report('stolen-count', `stats().stolen is ${st.stolen}, the pool received ${givenBack} Revoked answers (${this.coverage['revoke ignored'] ?? 0} revokes found their task reached, ${this.coverage['revoke asked'] ?? 0} were answered when reached or died with their worker)`);
    if (this.cfg.deadLetter === true) this.checkDeadLetters(st.deadLetterErrors, st.deadLettered);
  }

  checkDeadLetters(errors: number, written: number): void {
    this.count('dead-letter sink failures', this.dlFailures);
    if (errors !== this.dlFailures) this.report('dead-letter', `stats().deadLetterErrors is ${errors}, the sink failed ${this.dlFailures} times`);
    if (written !== this.dlEntries) this.report('dead-letter', `stats().deadLettered is ${written}, the sink was handed ${this.dlEntries} entries`);
    for (const t of this.byOrder) {
      const f = t.final;
      const failed = f !== undefined && f.channel === 'failed' && f.fate !== 'aborted';
      if (t.deadLetters.length !== (failed ? 1 : 0)) {
        this.report('dead-letter', `${t.key} (${f === undefined ? 'pending' : `${f.fate} on sluice:task:${f.channel}`}) has ${t.deadLetters.length} dead-letter entries`);
        continue;
      }
      const e = t.deadLetters[0];
      if (e === undefined || f === undefined) continue;
      const reason = f.fate === 'dropped' ? 'dropped' : f.fate === 'deadline' ? 'deadline' : 'failed';
      if (e.reason !== reason) this.report('dead-letter', `${t.key} (${f.fate}) was dead-lettered as ${e.reason}, not ${reason}`);
      if (e.attempts !== e.expected) this.report('dead-letter', `${t.key} (${f.fate}) was dead-lettered with attempts ${e.attempts}; ${t.startedAttempts} attempts started${e.expected > t.startedAttempts ? ', and its last send was judged unstarted' : ''}`);
    }
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
      run.sameTick = 0;
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
  return { violations: run.violations, log: run.log, tasks: run.byOrder.length, verdicts, requeuedThenOk, closed: run.closeResolved, coverage: run.coverage };
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
    for (const key of ['timeoutMs', 'deadlineMs', 'retry', 'signal', 'priority', 'queueTimeoutMs'] as const) {
      const cur = best.steps[i] as Extract<Step, { op: 'submit' }>;
      if (cur[key] === undefined || runs >= budget) continue;
      const plain = { ...cur };
      delete plain[key];
      const cand = { ...best, steps: best.steps.map((x, j) => (j === i ? plain : x)) };
      if (await fails(cand)) best = cand;
    }
  }
  const simpler: ((c: Config) => Config | undefined)[] = [
    (c) => (c.deadLetter === true ? { ...c, deadLetter: false } : undefined),
    (c) => (c.startTimeoutMs !== undefined ? { ...c, startTimeoutMs: undefined } : undefined),
    (c) => (c.queue !== undefined ? { ...c, queue: undefined } : undefined),
    (c) => (c.queue?.queueTimeoutMs !== undefined ? { ...c, queue: { ...c.queue, queueTimeoutMs: undefined } } : undefined),
    (c) => (c.overtake !== undefined && c.overtake > 0 ? { ...c, overtake: 0 } : undefined),
    (c) => (c.heartbeat ? { ...c, heartbeat: false } : undefined),
    (c) => (c.probe ? { ...c, probe: false } : undefined),
    (c) => (c.retry !== undefined ? { ...c, retry: undefined } : undefined),
    (c) => (c.maxTasks !== undefined ? { ...c, maxTasks: undefined } : undefined),
    (c) => (c.restartIntensity !== false ? { ...c, restartIntensity: false } : undefined),
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
