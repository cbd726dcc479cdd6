/**
 * The scheduler's book on one worker: its handle, what is in flight on it,
 * the batch being assembled for it, and its pipeline depth.
 */

import { START_RING } from '../wire/protocol.js';
import type { Task } from './task.js';
import type { TimerEntry } from '../time/timer-heap.js';
import type { StopReason, WorkerHandle } from '../worker/handle.js';

export const enum SlotState {
  Starting = 0,
  Ready = 1,
  /** Terminated or retiring: takes no more work. */
  Stopping = 2,
}

export const INFLIGHT_MASK = START_RING - 1;

export class WorkerSlot {
  readonly handle: WorkerHandle;
  state: SlotState = SlotState.Starting;
  /** Index of each task name in the worker's own list. */
  names: Map<string, number> | undefined = undefined;
  /** Tasks sent and not yet answered, by `seq & INFLIGHT_MASK`. */
  readonly inflight: (Task | undefined)[] = new Array<Task | undefined>(START_RING);
  inflightCount = 0;
  /** When each in-flight task was sent (pool clock), by `seq & INFLIGHT_MASK`: unboxed, unlike a field per task. */
  readonly sentAt = new Float64Array(START_RING);
  /** Abort-grace timers of orphans on this worker (settled tasks it may still be running), by seq. */
  readonly graces = new Map<number, TimerEntry>();
  /**
   * Seqs asked back from it (work stealing) whose answer has not come yet:
   * `Status.Revoked`, or an ordinary result from a task that started first.
   */
  readonly revoking = new Set<number>();
  /** A probe (WorkerHandle.probe) is under way: what to re-check once it ends. */
  probing: (() => void)[] | undefined = undefined;
  /** Last sequence number given to a task sent to this worker. */
  seq = 0;
  /** Tasks assigned but not yet flushed, in order. */
  outbox: Task[] = [];
  /** The outbox holds a task sent ahead (auto pipeline prefetch): it goes as a RunAfter batch. */
  ahead = false;
  /** Pipeline depth: how many tasks may be in flight here. */
  depth: number;
  /** The worker says its async tasks mostly wait (Op.IoBound): the auto pipeline keeps ASYNC_DEPTH of them here (pipeline.ts). */
  waiting = false;
  /** Moving average of the time one task occupies this worker, in ms. */
  serviceMs = -1;
  /** When the worker last went from idle to busy (auto pipeline), or 0. */
  busySince = 0;
  completed = 0;
  /** On the scheduler's idle stack (depth-1 pools). */
  inIdle = false;
  /** When it was spawned, on the pool's clock. */
  spawnedAt = 0;
  /** Start-up timer (startTimeoutMs) while it loads its module and runs `sluice.init`. */
  startTimer: TimerEntry | undefined = undefined;
  /** Retirement timer while idle (dynamic pools). */
  idleTimer: TimerEntry | undefined = undefined;
  /** Set when the pool killed the worker on purpose (timeout, abort grace, retirement). */
  killedFor: StopReason | undefined = undefined;
  /** HookFlag bits: the lifecycle hooks its module exports. */
  hooks = 0;
  /** Tasks that threw on this worker (quarantine compares it with `completed`). */
  failures = 0;
  /** A replacement is starting for it (recycling); it still takes work until that one is ready. */
  recycling = false;
  /** Its failures stand out from its peers' (supervision/isolation.ts): placement passes it over while others have room. */
  suspect = false;
  /** The worker this one replaces, while it starts. */
  replaces: WorkerSlot | undefined = undefined;
  /** Its heap keeps growing across tasks (leak heuristic, supervision/recycle.ts). */
  leaking = false;
  /** The error its running tasks get when the watchdog killed it. */
  stallError: Error | undefined = undefined;
  /** Why it was stopped before it became ready (start-up timeout, a throwing init): the cause restart intensity records. */
  startError: Error | undefined = undefined;
  /** Counted out of the pool's starting workers (ready, given up, or gone). */
  startDone = false;

  /**
   * Tasks it may still be sent in its life (supervision.recycle.maxTasks,
   * Infinity: no limit): one less per send, one back per task revoked
   * unstarted (work stealing).
   */
  left: number;

  constructor(handle: WorkerHandle, depth: number, maxTasks = Infinity) {
    this.handle = handle;
    this.depth = depth;
    this.left = maxTasks;
  }

  /**
   * The seq of the in-flight entry at ring place `idx`. Derived, not stored:
   * a send needs its ring place free, so every entry is one of the last
   * START_RING sends (and a JavaScript number does not wrap as an Int32
   * would after 2^31 sends).
   */
  seqOf(idx: number): number {
    return this.seq - ((this.seq - idx) & INFLIGHT_MASK);
  }

  /** In flight plus waiting in the outbox. */
  get load(): number {
    return this.inflightCount + this.outbox.length;
  }

  /** Whether one more task may be sent now: ready, and room (see canTake). */
  get hasRoom(): boolean {
    return this.state === SlotState.Ready && this.canTake;
  }

  /** Room for one more task, ready or not: under its depth and its maxTasks budget, and its ring place is free. */
  get canTake(): boolean {
    const outbox = this.outbox.length;
    return this.inflightCount + outbox < this.depth && outbox < this.left && this.ringHasRoom;
  }

  /** The in-flight ring slot of the next task to send is free (a task that has not answered yet still holds it). */
  get ringHasRoom(): boolean {
    return this.inflight[(this.seq + this.outbox.length + 1) & INFLIGHT_MASK] === undefined;
  }
}
