/**
 * A scripted WorkerHandle for the model-based fate test (fates.test.ts).
 *
 * The scheduler talks to it exactly as to a thread worker: it `send`s Run /
 * RunAfter batches and Abort messages, reads `startedAt`, `finished` and
 * (optionally) `probe`, and calls `terminate`. The fake never does anything
 * on its own: the test's script decides, step by step, what the "worker"
 * does (become ready, start its next task, finish one, flush its buffered
 * results, exit, block its event loop...). Everything that happens is
 * recorded on `Arrival` objects (one per task sent: one attempt), which the
 * reference model (reference.ts) judges the engine's verdicts against.
 *
 * Numbering follows src/runtime/runtime.ts: each task that arrives gets
 * `seq = ++received` in arrival order (the engine numbers its sends the
 * same way, so no ids cross the wire). A RunAfter batch is held until no
 * task runs on the worker, and everything behind it waits behind it, so
 * tasks start in sequence order. An Abort for a task that has not started
 * makes the worker drop it when it gets there (an error result, never a
 * start); an Abort for a running task is only a request: the script decides
 * whether the task honours it (`honour`) or runs on.
 *
 * Work stealing: an `[Op.Revoke, seq...]` is answered as src/runtime/runtime.ts
 * answers it. A task already reached (started, or dropped) is ignored: it
 * runs and answers as usual. A task held back (behind a RunAfter batch while
 * a task runs) is answered `Status.Revoked` at once. Any other task not yet
 * reached is answered `Status.Revoked` when the worker reaches it, in
 * sequence order, instead of starting. The fake reaches a task when the
 * script starts it; the real runtime reaches a whole Run batch as it takes
 * the message, so a Revoke sent while that message was still on its way
 * (the worker's event loop busy) finds the batch reached: the host says,
 * per Revoke, whether it was overtaken so (`WorkerHost.overtaken`), and
 * then the tasks not held are left to run. A Revoke that arrives while the
 * worker's event loop is blocked is read only once it is free: nothing is
 * answered at once then.
 *
 * Time: start and finish times are taken from the pool's ManualClock. The
 * engine compares `startedAt` (epoch ms, as a worker writes it) with
 * `epochNow()` (performance.timeOrigin + performance.now()), not with its
 * own clock, so the test points `performance.now` at the ManualClock while a
 * trace runs (see trace.ts) and reports starts as
 * `performance.timeOrigin + PERF_OFFSET + clock time`.
 */

import { encodeError } from '../../src/wire/error-codec.js';
import * as protocol from '../../src/wire/protocol.js';
import { Op, Status, TASK_STRIDE } from '../../src/wire/protocol.js';
import type { ExitInfo, StopReason, WorkerEvents, WorkerHandle } from '../../src/worker/handle.js';
import type { ProcStatus, WorkerSelfReport } from '../../src/observability/worker-diagnostics.js';

/** One task as it arrived on one worker: one attempt. */
export interface Arrival {
  readonly worker: ScriptedWorker;
  readonly seq: number;
  readonly nameIdx: number;
  /** The engine's task id (the `id` field of the Run entry). */
  readonly taskId: number;
  /** Correlation id: the model's key for the task. */
  readonly corr: string | null;
  /** Pool-clock time it arrived. */
  readonly arrivedAt: number;
  /** It came in a RunAfter batch: may start only while nothing runs on the worker. */
  readonly after: boolean;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** Its result, once finished (Status.Ok + value, or Status.Error + encoded error). */
  status: Status | undefined;
  value: unknown;
  /** What it returned or threw, for the model: the value, or the thrown message. */
  outcome: { ok: true; value: string } | { ok: false; message: string } | undefined;
  /** Its result went to the pool (`events.results`). */
  flushed: boolean;
  flushedAt: number | undefined;
  /** When an [Op.Abort] for it arrived, and its kind (AbortKind). */
  abortedAt: number | undefined;
  abortKind: number | undefined;
  /** Aborted before it started: the worker dropped it (an error result, no start). */
  dropped: boolean;
  /** Honoured an abort (finished with the abort's error). */
  honoured: boolean;
  /** Taken back unstarted by an [Op.Revoke] (work stealing): answered Status.Revoked, never runs here. */
  revoked: boolean;
  /** An [Op.Revoke] for it arrived before the worker reached it: it is answered Revoked when reached. */
  revokeAsked: boolean;
  /** An [Op.Revoke] for it came after the worker had reached it (or its batch): ignored, it runs. */
  revokeIgnored: boolean;
  /** Its state when its worker exited: what the model judges a crash verdict by. */
  atExit: 'unstarted' | 'running' | 'finished' | 'flushed' | undefined;
}

/** What the worker's owner (the trace runner) is told as it happens. */
export interface WorkerHost {
  now(): number;
  /** A task arrived in a Run/RunAfter batch (already numbered). */
  arrived(a: Arrival, batch: readonly Arrival[]): void;
  aborted(a: Arrival, kind: number): void;
  /** A task was taken back (work stealing) before it started: answered Revoked (`held`: at once). */
  revoked(a: Arrival, held: boolean): void;
  /** An [Op.Revoke] arrived: whether the batches it names were reached before it (its tasks then run). */
  overtaken(w: ScriptedWorker, seqs: readonly number[]): boolean;
  /** What an [Op.Revoke] did to one task it named. */
  revokeSeen(a: Arrival | undefined, seq: number, what: 'held' | 'asked' | 'ignored' | 'reached'): void;
  /** The pool asked this worker to stop (terminate or stop). */
  terminated(w: ScriptedWorker, why: StopReason | 'stop'): void;
  /** A message the fake does not model (Health, Diag, Close...). */
  other(w: ScriptedWorker, msg: unknown[]): void;
}

export interface ScriptedWorkerOptions {
  /** Implement `probe()` (as process workers do): it resolves on a microtask, the fake's answers are exact anyway. */
  probe: boolean;
  /** Implement `beats()` (heartbeat supervision): it stops moving while the worker is blocked. */
  heartbeat: boolean;
  /** Task names reported in Ready. */
  names: readonly string[];
}

let valueCounter = 0;

/**
 * While a trace runs, performance.now() reads the pool's ManualClock plus
 * this offset (trace.ts): the engine treats a `busySince` of 0 as "idle",
 * so the performance clock must not start at 0.
 */
export const PERF_OFFSET = 1000;

/**
 * Work stealing: `[Op.Revoke, seq, ...]` (Op.Revoke = 18), answered per
 * unstarted task with a `Status.Revoked` (= 4) result whose value is null
 * (src/wire/protocol.ts). Checked against the protocol's values at load.
 */
export const REVOKE = 18;
export const REVOKED = 4;
{
  const protocolModule: object = protocol;
  const op = (Reflect.get(protocolModule, 'Op') as Record<string, number | undefined>).Revoke;
  const st = (Reflect.get(protocolModule, 'Status') as Record<string, number | undefined>).Revoked;
  if (op !== REVOKE || st !== REVOKED) throw new Error(`model: src/wire/protocol.ts has Op.Revoke = ${String(op)}, Status.Revoked = ${String(st)}; the scripted worker answers ${REVOKE} / ${REVOKED}`);
}

export class ScriptedWorker implements WorkerHandle {
  readonly id: number;
  readonly events: WorkerEvents;
  readonly #host: WorkerHost;
  readonly #opts: ScriptedWorkerOptions;
  state: 'starting' | 'ready' | 'exited' = 'starting';
  /** Why the pool asked it to stop, once it did (first request wins). */
  stopWhy: StopReason | 'stop' | undefined = undefined;
  stopAt: number | undefined = undefined;
  /** Last sequence number given to an arrival. */
  received = 0;
  readonly arrivals: Arrival[] = [];
  readonly #bySeq = new Map<number, Arrival>();
  /** Arrivals not yet started (nor dropped), in sequence order. */
  readonly inbox: Arrival[] = [];
  /** Started, not finished. */
  readonly running: Arrival[] = [];
  /** Finished, result not yet sent, in finishing order. */
  readonly buffered: Arrival[] = [];
  /** The task blocking its event loop (a synchronous hang), if any. */
  blockedBy: Arrival | undefined = undefined;
  #beatsAtBlock = 0;
  readonly spawnedAt: number;
  readyAt: number | undefined = undefined;
  exitedAt: number | undefined = undefined;
  exitInfo: ExitInfo | undefined = undefined;
  /** Answers sent that were not Revoked: what the pool counts as tasks this worker completed. */
  answered = 0;
  /** Revoked answers sent (what stats().stolen should count). */
  revokedAnswered = 0;
  /** Every message the pool sent, for the log. */
  readonly sent: unknown[][] = [];
  probe?: () => Promise<void>;
  beats?: () => number;

  constructor(id: number, events: WorkerEvents, host: WorkerHost, opts: ScriptedWorkerOptions) {
    this.id = id;
    this.events = events;
    this.#host = host;
    this.#opts = opts;
    this.spawnedAt = host.now();
    if (opts.probe) this.probe = () => Promise.resolve();
    if (opts.heartbeat) this.beats = () => (this.blockedBy !== undefined ? this.#beatsAtBlock : this.#liveBeats());
  }

  /** A beat every 10 ms of pool time while the event loop is free. */
  #liveBeats(): number {
    return Math.floor(this.#host.now() / 10);
  }

  get exited(): boolean {
    return this.state === 'exited';
  }

  /** Can run JavaScript: alive, not told to stop, not blocked. */
  get free(): boolean {
    return this.state === 'ready' && this.stopWhy === undefined && this.blockedBy === undefined;
  }

  // ---- WorkerHandle ---------------------------------------------------------

  diagnose(): Promise<{ self: WorkerSelfReport | undefined; pid: number | undefined; proc: ProcStatus | undefined }> {
    return Promise.resolve({ self: undefined, pid: undefined, proc: undefined });
  }

  send(message: unknown[]): void {
    this.sent.push(message);
    const op = message[0] as Op;
    switch (op) {
      case Op.Run:
      case Op.RunMarked:
      case Op.RunAfter:
      case Op.RunAfterMarked: {
        const after = op === Op.RunAfter || op === Op.RunAfterMarked;
        const batch: Arrival[] = [];
        for (let i = 1; i < message.length; i += TASK_STRIDE) {
          const corrField = message[i + 3];
          const corr = corrField === null || typeof corrField === 'string' ? corrField : ((corrField as unknown[])[0] as string | null);
          const a: Arrival = {
            worker: this,
            seq: ++this.received,
            nameIdx: message[i] as number,
            taskId: message[i + 2] as number,
            corr,
            arrivedAt: this.#host.now(),
            after,
            startedAt: undefined,
            finishedAt: undefined,
            status: undefined,
            value: undefined,
            outcome: undefined,
            flushed: false,
            flushedAt: undefined,
            abortedAt: undefined,
            abortKind: undefined,
            dropped: false,
            honoured: false,
            revoked: false,
            revokeAsked: false,
            revokeIgnored: false,
            atExit: undefined,
          };
          this.arrivals.push(a);
          this.#bySeq.set(a.seq, a);
          this.inbox.push(a);
          batch.push(a);
        }
        for (const a of batch) this.#host.arrived(a, batch);
        return;
      }
      case Op.Abort: {
        const a = this.#bySeq.get(message[1] as number);
        if (a === undefined) return;
        // Like runtime.ts: a running task's signal aborts; one not started yet is dropped when reached.
        if (a.finishedAt !== undefined || a.abortedAt !== undefined) return;
        a.abortedAt = this.#host.now();
        a.abortKind = message[2] as number;
        this.#host.aborted(a, a.abortKind);
        return;
      }
      default:
        if ((message[0] as number) === REVOKE) {
          this.#revoke(message);
          return;
        }
        this.#host.other(this, message);
    }
  }

  /**
   * Like the runtime's Op.Revoke: reached tasks are ignored, held ones are
   * answered at once, the others when reached (see the file comment).
   */
  #revoke(message: unknown[]): void {
    const seqs = message.slice(1) as number[];
    const overtaken = this.#host.overtaken(this, seqs);
    const blocked = this.blockedBy !== undefined;
    for (const seq of seqs) {
      const a = this.#bySeq.get(seq);
      const at = a === undefined ? -1 : this.inbox.indexOf(a);
      if (a === undefined || at === -1 || a.revokeAsked || a.revoked) {
        this.#host.revokeSeen(a, seq, 'reached');
        continue;
      }
      if (!blocked && this.#held(at)) {
        this.inbox.splice(at, 1);
        this.#answerRevoked(a, true);
        this.#host.revokeSeen(a, seq, 'held');
      } else if (overtaken) {
        a.revokeIgnored = true;
        this.#host.revokeSeen(a, seq, 'ignored');
      } else {
        a.revokeAsked = true;
        this.#host.revokeSeen(a, seq, 'asked');
      }
    }
  }

  /** The inbox entry at `at` is held back: behind (or in) a RunAfter batch while a task runs here. */
  #held(at: number): boolean {
    if (this.running.length === 0) return false;
    for (let i = 0; i <= at; i++) if ((this.inbox[i] as Arrival).after) return true;
    return false;
  }

  #answerRevoked(a: Arrival, held: boolean): void {
    a.revoked = true;
    a.status = REVOKED;
    a.value = null;
    this.buffered.push(a);
    this.#host.revoked(a, held);
  }

  startedAt(seq: number): number | undefined {
    const a = this.#bySeq.get(seq);
    return a?.startedAt === undefined ? undefined : performance.timeOrigin + PERF_OFFSET + a.startedAt;
  }

  finished(seq: number): boolean {
    return this.#bySeq.get(seq)?.finishedAt !== undefined;
  }

  terminate(why?: StopReason): void {
    this.#stopRequested(why ?? 'close');
  }

  stop(_graceMs: number): void {
    this.#stopRequested('stop');
  }

  #stopRequested(why: StopReason | 'stop'): void {
    if (this.state === 'exited' || this.stopWhy !== undefined) return;
    this.stopWhy = why;
    this.stopAt = this.#host.now();
    this.#host.terminated(this, why);
  }

  // ---- the script's verbs ---------------------------------------------------

  ready(): boolean {
    if (this.state !== 'starting' || this.stopWhy !== undefined) return false;
    this.state = 'ready';
    this.readyAt = this.#host.now();
    this.events.ready(this, [...this.#opts.names], 0);
    return true;
  }

  loadFail(): boolean {
    if (this.state !== 'starting' || this.stopWhy !== undefined) return false;
    this.events.initError(this, encodeError(new Error('model: the module failed to load')));
    return true;
  }

  /** The next task in sequence order that may start now, after dropping aborted ones; undefined if none. */
  nextStartable(): Arrival | undefined {
    if (!this.free) return undefined;
    const next = this.inbox[0];
    if (next === undefined) return undefined;
    if (next.abortedAt !== undefined || next.revokeAsked) return next; // it will be dropped or answered Revoked, which is always possible
    if (next.after && this.running.length > 0) return undefined;
    return next;
  }

  /** Starts the next task (dropping aborted ones first, as the runtime does). Returns what started, if anything. */
  startNext(): Arrival | undefined {
    if (!this.free) return undefined;
    while (this.inbox.length > 0) {
      const next = this.inbox[0] as Arrival;
      if (next.revokeAsked) {
        // The runtime checks its revoked list before anything else as it reaches a task.
        this.inbox.shift();
        this.#answerRevoked(next, false);
        continue;
      }
      if (next.abortedAt !== undefined) {
        this.inbox.shift();
        next.dropped = true;
        this.#finish(next, false, 'aborted before it started');
        continue;
      }
      if (next.after && this.running.length > 0) return undefined;
      this.inbox.shift();
      next.startedAt = this.#host.now();
      this.running.push(next);
      return next;
    }
    return undefined;
  }

  /** A running task returns (ok) or throws. */
  finish(a: Arrival, ok: boolean): void {
    const i = this.running.indexOf(a);
    if (i === -1) throw new Error(`model: finish of a task that is not running (w${this.id} #${a.seq})`);
    this.running.splice(i, 1);
    if (this.blockedBy === a) this.blockedBy = undefined;
    this.#finish(a, ok, `boom ${a.corr ?? '?'} w${this.id}#${a.seq}`);
  }

  /** A running task that was sent an Abort stops, with the abort as its error. */
  honour(a: Arrival): void {
    a.honoured = true;
    const i = this.running.indexOf(a);
    if (i === -1) throw new Error('model: honour of a task that is not running');
    this.running.splice(i, 1);
    this.#finish(a, false, `honoured abort ${a.corr ?? '?'} w${this.id}#${a.seq}`);
  }

  #finish(a: Arrival, ok: boolean, message: string): void {
    a.finishedAt = this.#host.now();
    if (ok) {
      const value = `v${++valueCounter}:${a.corr ?? '?'}:w${this.id}#${a.seq}`;
      a.status = Status.Ok;
      a.value = value;
      a.outcome = { ok: true, value };
    } else {
      a.status = Status.Error;
      a.value = encodeError(new Error(message));
      a.outcome = { ok: false, message };
    }
    this.buffered.push(a);
  }

  /** The running task `a` blocks the event loop (heartbeats stop). */
  block(a: Arrival): void {
    if (this.beats !== undefined) this.#beatsAtBlock = this.#liveBeats();
    this.blockedBy = a;
  }

  /** Sends every buffered result in one Results message. `force`: even while told to stop (a race with terminate). */
  flush(force = false): number {
    if (this.state !== 'ready' || this.blockedBy !== undefined || (this.stopWhy !== undefined && !force)) return 0;
    if (this.buffered.length === 0) return 0;
    const batch = this.buffered.splice(0);
    const msg: unknown[] = [Op.Results];
    const now = this.#host.now();
    for (const a of batch) {
      a.flushed = true;
      a.flushedAt = now;
      if (a.revoked) this.revokedAnswered++;
      else this.answered++;
      msg.push(a.seq, a.status, a.value);
    }
    this.events.results(this, msg);
    return batch.length;
  }

  /** The worker exits (crash, kill, or the end of a requested stop). Unflushed results are lost. */
  exit(info: ExitInfo): boolean {
    if (this.state === 'exited') return false;
    this.state = 'exited';
    this.exitedAt = this.#host.now();
    for (const a of this.arrivals) {
      a.atExit = a.flushed ? 'flushed' : a.finishedAt !== undefined ? 'finished' : a.startedAt !== undefined ? 'running' : 'unstarted';
    }
    this.exitInfo = info;
    this.events.exit(this, info);
    return true;
  }
}
