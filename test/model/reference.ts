/**
 * The reference model for "a task's fate is its own": given what physically
 * happened to each attempt of a task (trace.ts records it on the scripted
 * workers' Arrival objects), which verdicts the engine may give it.
 *
 * A verdict is judged at the instant the engine gives it (the runner
 * subscribes to the task channels, which publish synchronously inside the
 * engine's settle/retry), against the task's current attempt: the last
 * arrival of the task on a worker since its previous verdict, if any.
 *
 *   attempt state at the verdict           fates it allows
 *   ------------------------------------   ------------------------------------------
 *   none (queued, backoff, outbox)         only its own or pool-level causes (below)
 *   sent, not started                      same: if its worker died it is requeued
 *   running (started, not returned)        crashed / stalled once its worker exited;
 *                                          timeout once it ran timeoutMs
 *   returned, result not sent              lost once its worker exited; timeout only
 *                                          if it ran timeoutMs before returning
 *   returned, result sent                  exactly its own result (ok value / thrown)
 *
 *   own / pool-level causes, any state:    aborted (its signal aborted), deadline (past
 *                                          it), closed (terminate, close timeout, or
 *                                          submitted after close), pool-failed (the pool
 *                                          is failed), unknown-task (a name the module
 *                                          does not export)
 *
 * Each way of breaking this is a named rule (RULES), so a rule the engine
 * does not hold yet can be switched off on its own (fates.test.ts).
 */

import { shouldRetry, type RetryPolicy } from '../../src/retry.js';
import type { Arrival, ScriptedWorker } from './scripted-worker.js';

export const RULES = {
  'settle-once': 'every submit promise settles exactly once, with the verdict the engine published',
  'fate-cause': 'aborted / deadline / closed / pool-failed / unknown-task only with that cause; no other error kinds',
  'own-result': 'a returned task delivers exactly the result its current attempt sent (never another attempt\'s, never an abort echo)',
  'crash-only-running': 'WorkerCrashedError / WorkerStalledError only for an attempt running when its worker exited (stalled: killed for a stall)',
  'requeue-unstarted': 'an attempt that never started on a worker that died is requeued (no crash, lost or timeout verdict)',
  'result-lost': 'an attempt that returned but whose result died with its worker gets ResultLostError, not crashed / stalled',
  'lost-only-finished': 'ResultLostError only for an attempt that returned and whose worker died before sending the result',
  'timeout-running-time': 'TaskTimeoutError only once the attempt itself ran timeoutMs (inbox time and time after returning do not count)',
  'timeout-fires': 'a task running timeoutMs on a live worker gets its verdict by then',
  'deadline-fires': 'a task past its deadline is settled by then',
  'abort-settles': 'aborting a pending task settles it at once with TaskAbortedError',
  'grace-kills': 'a running task sent an Abort (cancel, timeout, deadline) that does not stop within abortGraceMs gets its worker stopped',
  'timeout-keeps-worker': 'a timeout does not kill the worker at once: the task is asked to stop and gets abortGraceMs',
  'kill-justified': 'the pool stops a worker only for a reason it has (abort grace over, stall, idle, close, failed start)',
  'no-work-to-stopped': 'no task is sent to a worker the pool already asked to stop',
  'no-run-after-settle': 'a task is never sent again after its final verdict',
  'single-attempt': 'a task is sent again only once its previous send was judged, taken back (revoked), or died unstarted with its worker',
  'attempts-kept': 'a dispatch reports attempt = 1 + attempts that started (a requeued unstarted send is not an attempt)',
  'retry-policy': 'a failed attempt is retried exactly when its retry policy says so',
  'size-bound': 'never more than max workers alive (+1 while recycling)',
  'resize-respected': 'after resize(n), no idle worker takes work while n workers already have work',
  'books-balance': 'after close: submitted = completed + failed + rejected, nothing running, queued, waiting or in backoff; the counts match the verdicts',
  'close-drains': 'close() resolves once the work is done, and when it resolves no task is pending',
} as const;

export type RuleName = keyof typeof RULES;

export interface Violation {
  rule: RuleName;
  message: string;
  /** Index of the trace step during which it was seen (-1: the final drain). */
  step: number;
  time: number;
}

export type Fate = 'ok' | 'threw' | 'crashed' | 'stalled' | 'timeout' | 'lost' | 'aborted' | 'deadline' | 'closed' | 'pool-failed' | 'unknown-task' | 'other';

const CODES: Record<string, Fate> = {
  ERR_SLUICE_WORKER_CRASHED: 'crashed',
  ERR_SLUICE_WORKER_STALLED: 'stalled',
  ERR_SLUICE_TASK_TIMEOUT: 'timeout',
  ERR_SLUICE_RESULT_LOST: 'lost',
  ERR_SLUICE_TASK_ABORTED: 'aborted',
  ERR_SLUICE_DEADLINE_EXCEEDED: 'deadline',
  ERR_SLUICE_POOL_CLOSED: 'closed',
  ERR_SLUICE_MODULE_LOAD: 'pool-failed',
  ERR_SLUICE_POOL_FAILED: 'pool-failed',
  ERR_SLUICE_WORKER_INIT: 'pool-failed',
  ERR_SLUICE_UNKNOWN_TASK: 'unknown-task',
};

export function fateOf(err: unknown): Fate {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return CODES[code] ?? 'other';
  if (err instanceof Error && /^(boom|honoured abort|aborted before it started)/.test(err.message)) return 'threw';
  return 'other';
}

export interface Verdict {
  fate: Fate;
  time: number;
  step: number;
  final: boolean;
  error: unknown;
  /** The attempt it judged (undefined: none was current). */
  attempt: Arrival | undefined;
}

/** A submitted task as the model tracks it. */
export class ModelTask {
  readonly key: string;
  readonly name: string;
  readonly knownName: boolean;
  readonly timeoutMs: number;
  readonly deadlineAt: number;
  readonly retry: RetryPolicy | undefined;
  readonly controller: AbortController | undefined;
  readonly submittedAt: number;
  /** The pool's state when it was submitted. */
  readonly submittedIn: string;
  abortedAt: number | undefined = undefined;
  readonly arrivals: Arrival[] = [];
  /** arrivals.length at the last verdict: arrivals past it belong to the current attempt. */
  judgedUpTo = 0;
  readonly verdicts: Verdict[] = [];
  final: Verdict | undefined = undefined;
  promise: { ok: true; value: unknown } | { ok: false; error: unknown } | undefined = undefined;
  /** Attempt numbers the engine reported at each dispatch. */
  readonly dispatches: number[] = [];

  constructor(init: { key: string; name: string; knownName: boolean; timeoutMs: number; deadlineAt: number; retry: RetryPolicy | undefined; controller: AbortController | undefined; submittedAt: number; submittedIn: string }) {
    this.key = init.key;
    this.name = init.name;
    this.knownName = init.knownName;
    this.timeoutMs = init.timeoutMs;
    this.deadlineAt = init.deadlineAt;
    this.retry = init.retry;
    this.controller = init.controller;
    this.submittedAt = init.submittedAt;
    this.submittedIn = init.submittedIn;
  }

  /** The attempt the next verdict is about: its latest arrival since the last verdict. */
  get current(): Arrival | undefined {
    return this.arrivals.length > this.judgedUpTo ? this.arrivals[this.arrivals.length - 1] : undefined;
  }

  /** Attempts that started (what the engine's attempt counter should hold). */
  get startedAttempts(): number {
    let n = 0;
    for (const a of this.arrivals) if (a.startedAt !== undefined) n++;
    return n;
  }
}

/** What the model knows about the pool as a whole. */
export interface PoolFacts {
  now(): number;
  /** The engine's state right now. */
  state(): string;
  closeAt: number | undefined;
  closeTimeoutMs: number;
  terminateAt: number | undefined;
  /** The engine was failed when close() was called (close then terminates). */
  closedWhileFailed: boolean;
}

export type Report = (rule: RuleName, message: string) => void;

function describe(a: Arrival | undefined): string {
  if (a === undefined) return 'no current attempt';
  const s = a.revoked ? (a.flushed ? 'revoked (answer sent)' : 'revoked (answer not sent)') : a.flushed ? 'result sent' : a.finishedAt !== undefined ? `returned at ${a.finishedAt}, result not sent` : a.startedAt !== undefined ? `running since ${a.startedAt}` : 'not started';
  const w = a.worker.exited ? `, worker exited (${a.atExit ?? '?'} then)` : a.worker.stopWhy !== undefined ? `, worker told to stop (${a.worker.stopWhy})` : '';
  return `attempt w${a.worker.id}#${a.seq} ${s}${w}`;
}

/** Pool-level and own causes: fates any attempt state allows when their cause holds. */
function causeHolds(t: ModelTask, fate: Fate, pool: PoolFacts): boolean | undefined {
  const now = pool.now();
  switch (fate) {
    case 'aborted':
      return t.abortedAt !== undefined;
    case 'deadline':
      return now >= t.deadlineAt;
    case 'closed':
      return (
        pool.terminateAt !== undefined ||
        pool.closedWhileFailed ||
        (pool.closeAt !== undefined && now >= pool.closeAt + pool.closeTimeoutMs) ||
        t.submittedIn === 'closing' ||
        t.submittedIn === 'closed'
      );
    case 'pool-failed':
      return pool.state() === 'failed' || t.submittedIn === 'failed';
    case 'unknown-task':
      return !t.knownName;
    default:
      return undefined;
  }
}

/**
 * Judges one verdict (final or retried) on task `t`, given as fate + error
 * (+ value for ok). Reports every rule it breaks.
 */
export function judgeVerdict(t: ModelTask, v: Verdict, pool: PoolFacts, report: Report): void {
  const a = v.attempt;
  const fate = v.fate;
  const where = `task ${t.key} (${t.name}) got ${fate}${v.final ? '' : ' (retried)'}: ${describe(a)}`;
  const cause = causeHolds(t, fate, pool);
  if (cause !== undefined) {
    if (!cause) report('fate-cause', `${where}, but its cause does not hold (${causeText(t, fate, pool)})`);
    return;
  }
  const now = pool.now();
  switch (fate) {
    case 'ok':
    case 'threw': {
      if (a === undefined || !a.flushed || a.outcome === undefined) {
        report('own-result', `${where}: no result of its current attempt was sent`);
        return;
      }
      const msg = errorMessage(v.error);
      if (fate === 'threw' && (a.outcome.ok || a.outcome.message !== msg)) report('own-result', `${where}: error "${msg}" is not what this attempt sent (${JSON.stringify(a.outcome)})`);
      if (fate === 'threw' && (a.honoured || a.dropped)) report('own-result', `${where}: the engine took a worker's answer to its own Abort as the task's error`);
      if (fate === 'ok' && !a.outcome.ok) report('own-result', `${where}: resolved, but this attempt threw`);
      return;
    }
    case 'crashed':
    case 'stalled': {
      if (a === undefined || !a.worker.exited) {
        report('crash-only-running', `${where}: its worker did not exit`);
        return;
      }
      if (fate === 'stalled' && a.worker.stopWhy !== 'stalled') report('crash-only-running', `${where}: its worker was not stopped for a stall`);
      if (a.atExit === 'unstarted') report('requeue-unstarted', `${where}: it never started, it should have been requeued`);
      else if (a.atExit === 'finished') report('result-lost', `${where}: it had returned; the verdict should be ResultLostError`);
      else if (a.atExit === 'flushed') report('crash-only-running', `${where}: its result had been sent`);
      return;
    }
    case 'lost': {
      if (a === undefined || !a.worker.exited || a.atExit !== 'finished') report('lost-only-finished', `${where}: ResultLostError needs an attempt that returned and a worker that died before sending it`);
      return;
    }
    case 'timeout': {
      if (a === undefined || a.startedAt === undefined) {
        report('timeout-running-time', `${where}: it never started (timeoutMs ${t.timeoutMs})`);
        return;
      }
      const ran = (a.finishedAt ?? now) - a.startedAt;
      if (ran < t.timeoutMs) {
        const why = a.finishedAt !== undefined ? `it returned after ${ran} ms` : `it has run ${ran} ms`;
        report('timeout-running-time', `${where}: ${why}, timeoutMs is ${t.timeoutMs}`);
      }
      if (a.worker.exited) report('timeout-running-time', `${where}: its worker had already exited`);
      return;
    }
    default:
      report('fate-cause', `${where}: an error the model does not expect: ${errorMessage(v.error)}`);
  }
}

function causeText(t: ModelTask, fate: Fate, pool: PoolFacts): string {
  switch (fate) {
    case 'aborted':
      return 'its signal was not aborted';
    case 'deadline':
      return `deadline at ${t.deadlineAt}, now ${pool.now()}`;
    case 'closed':
      return `close at ${String(pool.closeAt)} (timeout ${pool.closeTimeoutMs}), terminate at ${String(pool.terminateAt)}, submitted while ${t.submittedIn}`;
    case 'pool-failed':
      return `pool state ${pool.state()}`;
    default:
      return `name ${t.name} is known`;
  }
}

/** Retry decisions: a retried verdict must be retryable, a final one (of a kind the policy is asked about) must not be. */
export function judgeRetry(t: ModelTask, v: Verdict, pool: PoolFacts, report: Report): void {
  const policy = t.retry;
  const retryable = v.fate === 'threw' || v.fate === 'crashed' || v.fate === 'stalled' || v.fate === 'timeout' || v.fate === 'lost';
  const attempt = t.startedAttempts;
  if (!v.final) {
    if (policy === undefined || !retryable || !shouldRetry(policy, v.error, attempt)) {
      report('retry-policy', `task ${t.key}: ${v.fate} after ${attempt} started attempts was retried, but its policy (${policyText(policy)}) says no`);
    }
    return;
  }
  const stopped = pool.state() === 'closed' || pool.state() === 'failed';
  if (policy !== undefined && retryable && !stopped && shouldRetry(policy, v.error, attempt)) {
    report('retry-policy', `task ${t.key}: ${v.fate} after ${attempt} started attempts was final, but its policy (${policyText(policy)}) says retry`);
  }
}

function policyText(p: RetryPolicy | undefined): string {
  return p === undefined ? 'none' : `attempts ${p.attempts}${p.retryOn === undefined ? '' : ', retryOn all'}`;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Liveness after time moved: timeouts, deadlines and abort grace must have acted. */
export function judgeLiveness(tasks: Iterable<ModelTask>, workers: Iterable<ScriptedWorker>, abortGraceMs: number, now: number, report: Report): void {
  for (const t of tasks) {
    if (t.final !== undefined) continue;
    if (now >= t.deadlineAt) report('deadline-fires', `task ${t.key}: deadline at ${t.deadlineAt} passed (now ${now}) and it is not settled`);
    const a = t.current;
    if (a !== undefined && a.startedAt !== undefined && a.finishedAt === undefined && !a.worker.exited && a.worker.stopWhy === undefined && now - a.startedAt >= t.timeoutMs) {
      report('timeout-fires', `task ${t.key}: ${describe(a)} has run ${now - a.startedAt} ms (timeoutMs ${t.timeoutMs}) with no verdict`);
    }
  }
  for (const w of workers) {
    if (w.exited || w.stopWhy !== undefined) continue;
    for (const a of w.running) {
      if (a.abortedAt !== undefined && now - a.abortedAt >= abortGraceMs) {
        report('grace-kills', `worker ${w.id}: ${describe(a)} (task ${a.corr ?? '?'}) was sent an Abort at ${a.abortedAt}, still runs at ${now} (abortGraceMs ${abortGraceMs}), and the worker was not stopped`);
      }
    }
  }
}

/** Whether the pool had a reason to stop worker `w` for `why` now. */
export function judgeKill(w: ScriptedWorker, why: string, now: number, abortGraceMs: number, pool: PoolFacts, report: Report): void {
  const unanswered = w.arrivals.filter((a) => !a.flushed);
  switch (why) {
    case 'timeout':
    case 'abort': {
      const overdue = w.running.some((a) => a.abortedAt !== undefined && now - a.abortedAt >= abortGraceMs);
      if (overdue) return;
      const asked = w.running.some((a) => a.abortedAt !== undefined);
      if (why === 'timeout' && !asked) {
        report('timeout-keeps-worker', `worker ${w.id} stopped for a timeout at ${now} without an Abort and abortGraceMs first (running: ${w.running.map((a) => `${a.corr ?? '?'}#${a.seq}`).join(', ') || 'none'}; returned, not sent: ${w.buffered.map((a) => `${a.corr ?? '?'}#${a.seq}`).join(', ') || 'none'})`);
      } else {
        report('kill-justified', `worker ${w.id} stopped for ${why} at ${now}, but no task on it still runs abortGraceMs (${abortGraceMs}) after an Abort (running: ${w.running.map((a) => `${a.corr ?? '?'}#${a.seq}${a.abortedAt === undefined ? '' : ` aborted at ${a.abortedAt}`}`).join(', ') || 'none'})`);
      }
      return;
    }
    case 'stalled':
      if (w.blockedBy === undefined) report('kill-justified', `worker ${w.id} stopped as stalled at ${now}, but its event loop was free`);
      return;
    case 'retire':
    case 'recycle':
    case 'stop':
      if (unanswered.length > 0) report('kill-justified', `worker ${w.id} stopped (${why}) at ${now} with unanswered tasks: ${unanswered.map((a) => `${a.corr ?? '?'}#${a.seq}`).join(', ')}`);
      return;
    case 'close':
      if (pool.closeAt === undefined && pool.terminateAt === undefined && pool.state() !== 'failed') report('kill-justified', `worker ${w.id} stopped for close at ${now}, but the pool is ${pool.state()} and close was not called`);
      return;
    case 'init':
      if (w.state !== 'starting') report('kill-justified', `worker ${w.id} stopped for init at ${now}, but it was ready`);
      return;
    default:
      return;
  }
}
