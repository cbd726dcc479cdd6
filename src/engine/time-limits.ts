/**
 * Running-time limits and the abort grace: when a task's time is up, and
 * when a worker must go because a task it runs will not stop.
 *
 * A timeout is a cancellation: the caller hears at once, the task's
 * `ctx.signal` aborts with a timeout reason, and the worker is replaced
 * only if the task has not stopped within `abortGraceMs` (a synchronous
 * loop cannot be stopped otherwise). Only the task's own running time
 * counts: a task still in its worker's inbox gets its full budget again,
 * and one that already returned (its result on the way) is not timed out.
 * Process workers only know when a batch was picked up, so before a
 * timeout or a kill is decided they are probed for exact per-task starts
 * and finishes (WorkerHandle.probe).
 */

import { TaskTimeoutError } from '../api/errors.js';
import type { Clock } from '../time/clock.js';
import { CallbackTimer, type TimerEntry, type TimerHeap } from '../time/timer-heap.js';
import { AbortKind, epochNow, Op } from '../wire/protocol.js';
import { TaskState, type Task, type TaskTimer } from './task.js';
import { INFLIGHT_MASK, type WorkerSlot } from './worker-slot.js';

/** How often a task on a worker that is ending itself is looked at again while its exit is awaited. */
const LEAVING_RECHECK_MS = 25;

/** What the limits need of the engine. */
export interface TimeLimitsHost {
  /** Whether the worker is still one of the pool's (a draining one is; one that exited is not). */
  alive(slot: WorkerSlot): boolean;
  /** The task's time is up: it fails with this error (its retry policy may run it again). */
  timedOut(task: Task, slot: WorkerSlot, seq: number, err: TaskTimeoutError): void;
  /** Replace the worker: a task on it will not stop. */
  kill(slot: WorkerSlot, why: 'timeout' | 'abort'): void;
}

export class TimeLimits {
  readonly #host: TimeLimitsHost;
  readonly #timers: TimerHeap;
  readonly #clock: Clock;
  readonly #graceMs: number;

  constructor(host: TimeLimitsHost, timers: TimerHeap, clock: Clock, abortGraceMs: number) {
    this.#host = host;
    this.#timers = timers;
    this.#clock = clock;
    this.#graceMs = abortGraceMs;
  }

  /**
   * A running-time timer fired for a dispatched task. Re-arms it while the
   * task has not started, has returned, or still has time; otherwise the
   * task times out and is asked to stop.
   */
  check(task: Task, probed = false): void {
    const slot = task.slot as WorkerSlot;
    const seq = task.seq;
    const timer = task.timer as TaskTimer;
    const h = slot.handle;
    const now = this.#clock.now();
    const startedAt = seq === 0 || h.finished?.(seq) === true ? undefined : h.startedAt(seq);
    if (startedAt === undefined) {
      this.#timers.schedule(timer, now + task.timeoutMs);
      return;
    }
    const ran = epochNow() - startedAt;
    if (ran < task.timeoutMs) {
      this.#timers.schedule(timer, now + (task.timeoutMs - ran));
      return;
    }
    // The worker is ending itself (the task called process.exit, say) and its exit is on its way:
    // that exit, not the clock, is the task's fate. Waited for within the abort grace, no longer.
    if (h.leaving?.() === true && ran < task.timeoutMs + this.#graceMs) {
      this.#timers.schedule(timer, now + Math.min(LEAVING_RECHECK_MS, task.timeoutMs + this.#graceMs - ran));
      return;
    }
    if (!probed && h.probe !== undefined) {
      // A process only knows when a batch was picked up: ask which of its tasks really started and finished.
      this.#probe(slot, () => {
        if (task.state === TaskState.Dispatched && task.slot === slot && task.seq === seq) this.check(task, true);
      });
      return;
    }
    this.#host.timedOut(task, slot, seq, new TaskTimeoutError(task.name, task.timeoutMs));
    this.stop(slot, seq, task, AbortKind.TimedOut);
  }

  /**
   * A task whose caller already has its outcome (cancelled, timed out, past
   * its deadline) may still be on its worker: ask the worker to abort it,
   * and replace the worker only if the task has not stopped within
   * `abortGraceMs`. The grace timer belongs to the (worker, seq) pair, not
   * the task: a timed-out task may be retried while this attempt lingers.
   */
  stop(slot: WorkerSlot | undefined, seq: number, task: Task, kind: AbortKind): void {
    if (slot === undefined || seq === 0) return; // not sent yet; the flush skips it
    try {
      slot.handle.send([Op.Abort, seq, kind]);
    } catch {
      // The worker is already gone; its exit cleans up.
    }
    if (this.#graceMs === Infinity) return; // the worker is never killed for it
    const grace = new CallbackTimer(() => this.#graceOver(slot, seq, task, kind, false));
    slot.graces.set(seq, grace);
    this.#timers.schedule(grace, this.#clock.now() + this.#graceMs);
  }

  /** The worker answered for this seq (or is gone): its grace timer, if any, stops. */
  answered(slot: WorkerSlot, seq: number): void {
    const grace = slot.graces.get(seq);
    if (grace === undefined) return;
    this.#timers.cancel(grace);
    slot.graces.delete(seq);
  }

  /** Abort grace ran out for an orphan: replace its worker if it is still running it. */
  #graceOver(slot: WorkerSlot, seq: number, task: Task, kind: AbortKind, probed: boolean): void {
    const idx = seq & INFLIGHT_MASK;
    // A draining or recycling worker is Stopping but still runs its tasks: only a worker that is gone needs no kill.
    if (slot.inflight[idx] !== task || slot.seqOf(idx) !== seq || !this.#host.alive(slot)) {
      slot.graces.delete(seq);
      return;
    }
    const h = slot.handle;
    // It returned: the answer is on its way, the worker needs no killing.
    if (h.finished?.(seq) === true) {
      slot.graces.delete(seq);
      return;
    }
    if (!probed && h.probe !== undefined) {
      // A process only knows batches were picked up: ask which task really runs before killing anything.
      this.#probe(slot, () => this.#graceOver(slot, seq, task, kind, true));
      return;
    }
    if (h.startedAt(seq) === undefined) {
      // It never started: it waits behind another task in the worker
      // (pipelined, or sent ahead and held), and the worker will drop it
      // when it gets there. Killing now would fail the task it waits behind.
      this.#timers.schedule(slot.graces.get(seq) as TimerEntry, this.#clock.now() + this.#graceMs);
      return;
    }
    slot.graces.delete(seq);
    this.#host.kill(slot, kind === AbortKind.TimedOut ? 'timeout' : 'abort');
  }

  /** Asks a worker that can say (WorkerHandle.probe) which tasks really started and finished, then runs `then`; one probe at a time per worker. */
  #probe(slot: WorkerSlot, then: () => void): void {
    if (slot.probing !== undefined) {
      slot.probing.push(then);
      return;
    }
    slot.probing = [then];
    void (slot.handle.probe as () => Promise<void>)().then(() => {
      const waiting = slot.probing ?? [];
      slot.probing = undefined;
      for (const f of waiting) f();
    });
  }
}
