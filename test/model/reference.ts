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
 * Beyond a task's own fate the model judges the pool around it, each again
 * as named rules: the queue's overflow policies (QueueFullError, waiting
 * calls and QueueTimeoutError, the victims of drop-oldest and
 * drop-lowest-priority, all against a queue that counts only what lies
 * beyond the room of live and starting workers; judgeQueueVerdict, notFull),
 * work stealing (a task given back never runs there, keeps its attempt
 * count, and stats().stolen counts the Revoked answers), recycle.maxTasks,
 * idle retirement above size.min, startTimeoutMs, the pool's failures and
 * restart intensity (RestartCount: the barren streak and its respawn
 * delays), and the dead-letter sink's entries and failures. trace.ts keeps
 * the books these need and calls the judges.
 *
 * Each way of breaking this is a named rule (RULES), so a rule the engine
 * does not hold yet can be switched off on its own (fates.test.ts).
 */

import { shouldRetry, type RetryPolicy } from '../../src/supervision/retry.js';
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
  'queue-beyond-room':
    "queue.capacity counts only tasks beyond the room of live and starting workers: QueueFullError, a drop or a call left waiting needs capacity tasks queued beyond that room (with overflow 'wait', and maxWaiting calls waiting, for QueueFullError), and no task stays queued while a live worker has room (outside a resize or recycle drain)",
  'drop-victim': 'TaskDroppedError only under a drop policy, from a full queue, for an allowed victim: the task queued longest (drop-oldest), or the lowest-priority one, newest among equals, the incoming task included (drop-lowest-priority)',
'drop-oldest-order': 'drop-oldest evicts the task queued longest, also among tasks queued while the pool had not started yet (once a worker is ready they keep their order)',
  'drop-requeued': 'drop-lowest-priority judges a task put back at the head of the queue (its worker died before starting it, or gave it back) by its priority like any other: it is evicted, not a higher-priority task, when it ranks lowest',
  'wait-list': "with overflow 'wait', at most maxWaiting calls wait, a call waits only while the queue is full, and waiting calls are admitted in order as soon as it has room",
  'queue-timeout': 'QueueTimeoutError only for a call that waited queueTimeoutMs for room and was never admitted, and every such call gets it by then',
  'stolen-count': 'stats().stolen counts the Revoked answers the pool received (tasks really taken back)',
  'recycle-exact': 'a worker is never sent more than supervision.recycle.maxTasks tasks in its life (a task it gave back unstarted, answered Revoked, does not count)',
  'recycle-due': 'a worker that was sent its maxTasks tasks and answered them all has been recycled (one recycle at a time)',
  'idle-min': 'idle retirement never takes the pool below size.min (workers already stopping do not count)',
  'start-timeout': 'a worker not ready within startTimeoutMs is killed; before the pool was ever ready that fails the pool with ModuleLoadError instead',
  'pool-fails-justified':
    'the pool fails only for a cause (a module that cannot load; a start that failed or timed out before the pool was ever ready, or 3 in a row without restart intensity; more than maxRestarts restarts within withinMs; more than maxBarrenRestarts restarts in a row of workers that finished no task), fails when one holds, and its tasks get the error of that cause (ModuleLoadError or PoolFailedError)',
  'fail-rejects-pending': 'once the pool has failed, every pending task that is not on a live worker is rejected at once with the failure (those on a worker as it exits)',
  'settle-pumps': 'a task that settles before it was sent (cancelled, past its deadline) frees its place at once: queued work moves into the place it held on a starting worker, a waiting call into the place it held in the queue',
  'requeue-pumps': 'tasks put back in the queue by a worker that goes away before it was ready (failed start, retired) go at once to a worker with room',
  respawn: "a running pool replaces exited workers up to size.min (one while work is queued) at once, except that after the nth exit in a row of workers that finished no task (n >= 2) no worker spawns for min(backoffMs, 25 * 2^(n-2)) ms on the pool clock (a resize or a recycle replacement excepted)",
  'dead-letter': 'every task that failed (not cancelled, not refused) gets exactly one dead-letter entry with its reason and attempt count, the others none, whatever the sink does; stats().deadLetterErrors counts the sink failures (throws and rejections)',
} as const;

export type RuleName = keyof typeof RULES;

export interface Violation {
  rule: RuleName;
  message: string;
  /** Index of the trace step during which it was seen (-1: the final drain). */
  step: number;
  time: number;
}

export type Fate = 'ok' | 'threw' | 'crashed' | 'stalled' | 'timeout' | 'lost' | 'aborted' | 'deadline' | 'closed' | 'pool-failed' | 'unknown-task' | 'queue-full' | 'queue-timeout' | 'dropped' | 'other';

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
  ERR_SLUICE_QUEUE_FULL: 'queue-full',
  ERR_SLUICE_QUEUE_TIMEOUT: 'queue-timeout',
  ERR_SLUICE_TASK_DROPPED: 'dropped',
};

/** The error's code, if it has one. */
export function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

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
  /** The channel it came on: a failure (dead-lettered unless cancelled) or a refusal. */
  channel: 'completed' | 'failed' | 'retried' | 'rejected';
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
  /** Its place in submission order. */
  readonly index: number;
  readonly priority: number;
  readonly queueTimeoutMs: number;
  /** The pool's state when it was submitted. */
  readonly submittedIn: string;
  /** After a retry verdict: when its backoff ends (it is back in the queue then). */
  backoffUntil = -Infinity;
  /** Dead-letter entries written for it, with the attempt count the model expected then. */
  readonly deadLetters: { reason: string; attempts: number; expected: number }[] = [];
  abortedAt: number | undefined = undefined;
  readonly arrivals: Arrival[] = [];
  /** arrivals.length at the last verdict: arrivals past it belong to the current attempt. */
  judgedUpTo = 0;
  readonly verdicts: Verdict[] = [];
  final: Verdict | undefined = undefined;
  promise: { ok: true; value: unknown } | { ok: false; error: unknown } | undefined = undefined;
  /** Attempt numbers the engine reported at each dispatch. */
  readonly dispatches: number[] = [];

  constructor(init: { key: string; name: string; knownName: boolean; timeoutMs: number; deadlineAt: number; retry: RetryPolicy | undefined; controller: AbortController | undefined; submittedAt: number; submittedIn: string; index: number; priority: number; queueTimeoutMs: number }) {
    this.index = init.index;
    this.priority = init.priority;
    this.queueTimeoutMs = init.queueTimeoutMs;
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

  /**
   * Assigned, maybe, to a worker still starting that then went away (or to
   * a starting worker when a resize drained): put back at the head of the
   * queue where the model cannot see it.
   */
  maybeRequeued = false;
  /** It was in the queue when the pool's first worker became ready (the queue is rebuilt then). */
  queuedBeforeReady = false;

  /** Never sent anywhere, never retried, never put back: it entered the queue once, at submission, in order. */
  get fresh(): boolean {
    return this.arrivals.length === 0 && this.verdicts.length === 0 && !this.maybeRequeued;
  }
}

// ---- the queue ---------------------------------------------------------------

export type Overflow = 'reject' | 'wait' | 'drop-oldest' | 'drop-lowest-priority';

/**
 * What the model knows of the queue at one instant. `unsent` are the
 * pending tasks that have no attempt on a worker and are not waiting out a
 * retry backoff: they are in the queue, in the waiting list, or assigned to
 * a worker still starting (invisible to the model: at most `startingRoom`
 * of them). `drain`: a resize or recycle drain may hold work back from
 * workers with room (then only the plain capacity is judged).
 */
export interface QueueView {
  capacity: number;
  overflow: Overflow;
  maxWaiting: number;
  agingRate: number;
  unsent: readonly ModelTask[];
  /** Calls waiting for room, oldest first (overflow 'wait'). */
  waiting: readonly ModelTask[];
  /** Pipeline room of workers still starting (tasks the pool may have assigned to them). */
  startingRoom: number;
  /**
   * Tasks settled before they were sent (cancelled, past their deadline)
   * since the oldest starting worker spawned or the oldest waiting call
   * came: places they freed that the pool may not have filled again.
   */
  ghosts: number;
  /** A worker that never became ready was stopped and has not exited: what it was assigned went back to the queue. */
  requeued: boolean;
  /** At least this much pipeline room on live workers that take work (less what this turn's submits may have taken unseen). */
  readyRoom: number;
  /** Tasks submitted this turn that may sit, unseen, in a live worker's outbox (sent at the pool's next flush). */
  hiddenReady: number;
  drain: boolean;
  /** Tasks requeued at the front (their worker died before starting them, or gave them back). */
  front: ReadonlySet<ModelTask>;
}

/** The priority queue's key (src/engine/backlog.ts keyOf): higher runs first, lowest is dropped first. */
export function queueKey(t: ModelTask, agingRate: number): number {
  return t.priority - t.submittedAt * agingRate;
}

function names(ts: readonly ModelTask[]): string {
  return ts.map((t) => t.key).join(', ') || 'none';
}

/**
 * The queue is full beyond the room of live and starting workers: at least
 * `need` tasks (capacity, plus maxWaiting for a refused waiting call) are
 * unsent beyond the starting workers' room, and no live worker has room.
 * Returns the rule broken (`rule`, or a narrower one that explains it:
 * settle-pumps, requeue-pumps) and how, or undefined.
 */
export function notFull(view: QueueView, need: number, what: string, rule: RuleName = 'queue-beyond-room'): { rule: RuleName; message: string } | undefined {
  const unsent = view.unsent.length;
  const beyond = view.drain ? unsent : unsent - view.startingRoom;
  if (beyond < need) {
    const ghosts = beyond + view.ghosts >= need;
    const message = `${what}, but only ${unsent} tasks are unsent (${names(view.unsent)})${view.drain ? '' : `, ${view.startingRoom} of which starting workers have room for`}: that is not ${need} (capacity ${view.capacity}${view.overflow === 'wait' ? `, maxWaiting ${view.maxWaiting}` : ''}) beyond the workers' room${ghosts ? ` (it is if the ${view.ghosts} tasks settled before they were sent still held their places)` : ''}`;
    return { rule: ghosts ? 'settle-pumps' : rule, message };
  }
  if (!view.drain && view.readyRoom > 0) return { rule: view.requeued ? 'requeue-pumps' : rule, message: `${what}, but live workers have room for ${view.readyRoom} more${view.requeued ? ' (a worker stopped before it was ready gave its tasks back)' : ''}` };
  return undefined;
}

/**
 * Judges a QueueFullError, QueueTimeoutError or TaskDroppedError verdict on
 * `t`. `incoming`: the task whose submit is under way (queue-full and drop
 * verdicts come only from inside a submit).
 */
export function judgeQueueVerdict(t: ModelTask, v: Verdict, incoming: ModelTask | undefined, view: QueueView, now: number, report: Report): void {
  const where = `task ${t.key} got ${v.fate}`;
  switch (v.fate) {
    case 'queue-full': {
      if (t !== incoming) {
        report('queue-beyond-room', `${where} outside its own submit`);
        return;
      }
      if (view.overflow !== 'reject' && view.overflow !== 'wait') {
        report('queue-beyond-room', `${where} under overflow '${view.overflow}'`);
        return;
      }
      const need = view.overflow === 'wait' ? view.capacity + view.maxWaiting : view.capacity;
      const bad = notFull(view, need, where);
      if (bad !== undefined) report(bad.rule, bad.message);
      if (view.overflow === 'wait' && view.waiting.length < view.maxWaiting) report('wait-list', `${where}, but only ${view.waiting.length} calls wait (${names(view.waiting)}; maxWaiting ${view.maxWaiting})`);
      return;
    }
    case 'queue-timeout': {
      if (view.overflow !== 'wait') report('queue-timeout', `${where} under overflow '${view.overflow}'`);
      else if (!view.waiting.includes(t)) report('queue-timeout', `${where}, but it was not waiting for room (admitted, or never left waiting; waiting: ${names(view.waiting)})`);
      else if (now - t.submittedAt < t.queueTimeoutMs) report('queue-timeout', `${where} after waiting ${now - t.submittedAt} ms, queueTimeoutMs ${t.queueTimeoutMs}`);
      return;
    }
    case 'dropped': {
      if (incoming === undefined || (view.overflow !== 'drop-oldest' && view.overflow !== 'drop-lowest-priority')) {
        report('drop-victim', `${where} ${incoming === undefined ? 'outside a submit' : `under overflow '${view.overflow}'`}`);
        return;
      }
      if (t !== incoming && !view.unsent.includes(t)) {
        report('drop-victim', `${where}, but it was not queued (${t.arrivals.length} sends, ${t.verdicts.length} verdicts)`);
        return;
      }
      // The incoming task is not queued yet: the queue is full without it.
      const others = view.unsent.filter((x) => x !== incoming);
      const bad = notFull({ ...view, unsent: others }, view.capacity, `${where} (submit of ${incoming.key})`);
      if (bad !== undefined) report(bad.rule, bad.message);
      // Tasks the model cannot see in outboxes (starting workers', or live ones' this turn) are not in the queue.
      const room = view.drain ? Infinity : view.startingRoom + view.hiddenReady;
      if (view.overflow === 'drop-oldest') {
        if (t === incoming) {
          report('drop-victim', `${where}: drop-oldest dropped the incoming task`);
          return;
        }
        if (!t.fresh) return; // requeued or back from a backoff: its place is not judged
        const before = others.filter((x) => x !== t && (view.front.has(x) || (x.fresh && x.index < t.index)));
        // Tasks queued before the pool was first ready among themselves: judged apart (drop-oldest-order).
        const plain = before.filter((x) => !(x.queuedBeforeReady && t.queuedBeforeReady));
        const rooms = `starting workers have room for ${view.startingRoom}, live workers' outboxes may hold ${view.hiddenReady}`;
        if (plain.length > room) report('drop-victim', `${where} (drop-oldest), but ${names(plain)} queued before it (${rooms})`);
        else if (before.length > room) report('drop-oldest-order', `${where} (drop-oldest), but ${names(before)} queued before it, all of them before the pool was first ready (${rooms})`);
        return;
      }
      const key = (x: ModelTask): number => queueKey(x, view.agingRate);
      if (t !== incoming && !(key(incoming) > key(t))) {
        report('drop-victim', `${where} (drop-lowest-priority), but the incoming ${incoming.key} (key ${key(incoming)}) is not above it (key ${key(t)}): the incoming task loses ties`);
        return;
      }
      // Among equals the newest (last queued) loses: judged only between tasks queued once, in order.
      const lower = others.filter((x) => x !== t && (key(x) < key(t) || (t !== incoming && key(x) === key(t) && x.index > t.index && x.fresh && t.fresh)));
      // Tasks put back at the head of the queue are judged apart (drop-requeued).
      const putBack = (x: ModelTask): boolean => view.front.has(x) || x.maybeRequeued;
      const plain = lower.filter((x) => !putBack(x));
      const text = (xs: readonly ModelTask[]): string => xs.map((x) => `${x.key} (key ${key(x)}${putBack(x) ? ', put back at the head of the queue' : ''})`).join(', ');
      const rooms = `starting workers have room for ${view.startingRoom}, live workers' outboxes may hold ${view.hiddenReady}`;
      if (plain.length > room) report('drop-victim', `${where} (drop-lowest-priority, key ${key(t)}), but ${text(plain)} rank lower (${rooms})`);
      else if (lower.length > room) report('drop-requeued', `${where} (drop-lowest-priority, key ${key(t)}), but ${text(lower)} rank lower (${rooms})`);
      return;
    }
    default:
      return;
  }
}

// ---- restart intensity ---------------------------------------------------------

export interface IntensityModel {
  maxRestarts: number;
  withinMs: number;
  maxBarrenRestarts: number;
  backoffMs: number;
}

/**
 * The model's own count of restarts (docs/supervision.md): more than
 * maxRestarts within withinMs, or more than maxBarrenRestarts restarts in a
 * row of workers that finished no task, fail the pool; from the 2nd barren
 * restart in a row on, replacements wait 25 ms, 50 ms, ... up to backoffMs.
 * A restart that was not barren ends the streak. (The traces keep withinMs
 * longer than they run: the engine counts an exit as barren only within
 * withinMs of the worker's spawn.)
 */
export class RestartCount {
  readonly policy: IntensityModel;
  barren = 0;
  readonly #times: number[] = [];

  constructor(policy: IntensityModel) {
    this.policy = policy;
  }

  /** One restart at `now`; returns whether the pool must fail, and the respawn delay otherwise. */
  record(now: number, barren: boolean): { fail: boolean; delay: number } {
    this.barren = barren ? this.barren + 1 : 0;
    this.#times.push(now);
    if (this.barren > this.policy.maxBarrenRestarts) return { fail: true, delay: 0 };
    while (this.#times.length > 0 && (this.#times[0] as number) <= now - this.policy.withinMs) this.#times.shift();
    if (this.#times.length > this.policy.maxRestarts) return { fail: true, delay: 0 };
    return { fail: false, delay: this.barren <= 1 ? 0 : Math.min(this.policy.backoffMs, 25 * 2 ** (this.barren - 2)) };
  }

  /** The pool recovered from a failure. */
  reset(): void {
    this.barren = 0;
    this.#times.length = 0;
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
