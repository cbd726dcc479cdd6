/**
 * The engine's workers and the choice among them: every slot (alive,
 * starting or stopping), by id; the idle stack of depth-1 pools; the
 * workers draining after a shrink; how many are still starting; and the
 * size the pool heads for. Placement lives here: which worker takes the
 * next task (`pick`), and which may take one sent ahead (`prefetchSlot`).
 */

import type { TaskQueue } from '../queue/task-queue.js';
import { selectWorker } from './select.js';
import type { Task } from './task.js';
import { SlotState, type WorkerSlot } from './worker-slot.js';

export class WorkerSet {
  /** Every worker alive or starting, in spawn order (stopping ones until they have exited). */
  readonly list: WorkerSlot[] = [];
  readonly byId = new Map<number, WorkerSlot>();
  /** Workers draining after a shrink or a recycle: they take no new work and stop once their tasks are done. */
  readonly draining = new Set<WorkerSlot>();
  /** Workers spawned and not yet ready (nor gone). */
  starting = 0;
  /** The size the pool heads for: the scaler's (or `resize()`'s) last word, within [min, max]. */
  target: number;
  /** Idle workers of a depth-1 pool, most recently freed on top (see pick). */
  readonly #idle: WorkerSlot[] = [];
  /** Depth-1 pools (kind 'async', `pipeline: 1`) keep the idle stack; pipelined ones scan. */
  readonly #depthOne: boolean;
  /** The auto pipeline sends long tasks ahead (prefetchSlot). */
  readonly #auto: boolean;

  constructor(pipeline: number | 'auto', target: number) {
    this.#depthOne = pipeline === 1;
    this.#auto = pipeline === 'auto';
    this.target = target;
  }

  add(slot: WorkerSlot): void {
    this.list.push(slot);
    this.byId.set(slot.handle.id, slot);
    this.starting++;
  }

  /** A worker has exited: it leaves the set (and the count of starting ones, if it never became ready). */
  remove(slot: WorkerSlot): void {
    this.byId.delete(slot.handle.id);
    this.leftStarting(slot);
    const i = this.list.indexOf(slot);
    if (i !== -1) this.list.splice(i, 1);
    this.draining.delete(slot);
  }

  /** Counts a worker out of the starting ones, once: when it is ready, gives up starting, or exits. */
  leftStarting(slot: WorkerSlot): void {
    if (slot.startDone) return;
    slot.startDone = true;
    this.starting--;
  }

  /**
   * The worker for the next task. Pipelined pools (threads, processes) scan
   * their few workers for the least loaded (select.ts). Pools of depth-1
   * workers (kind 'async', `pipeline: 1`) may have hundreds of them, where a
   * scan per task dominated the profile: they keep a stack of idle workers
   * instead, O(1) per task. Stale entries (a worker that died or got work by
   * another path) are dropped when popped. A worker still starting takes a
   * task when no ready one can (see pickStarting).
   */
  pick(): WorkerSlot | undefined {
    if (this.draining.size > 0) return this.#pickWhileDraining();
    if (!this.#depthOne) return selectWorker(this.list) ?? (this.starting > 0 ? this.pickStarting() : undefined);
    const idle = this.#idle;
    while (idle.length > 0) {
      const s = idle.pop() as WorkerSlot;
      s.inIdle = false;
      if (s.hasRoom) return s;
    }
    return this.starting > 0 ? this.pickStarting() : undefined;
  }

  /**
   * After a shrink, draining workers still run their last tasks. Until they
   * are gone no idle worker takes up work while the workers with work
   * (draining ones included) already number the target size, so the pool
   * never runs more at once than `resize(n)` asked for. Rare, so a scan.
   */
  #pickWhileDraining(): WorkerSlot | undefined {
    let busy = this.draining.size;
    for (const s of this.list) if (s.state !== SlotState.Stopping && s.load > 0) busy++;
    const mayWake = busy < this.target;
    let best: WorkerSlot | undefined;
    for (const s of this.list) {
      if (!s.hasRoom || (s.load === 0 && !mayWake)) continue;
      if (best === undefined || s.load < best.load) best = s;
    }
    if (best !== undefined || !mayWake || this.starting === 0) return best;
    return this.pickStarting();
  }

  /**
   * A worker still starting, with pipeline room: a task submitted while the
   * pool starts is assigned to it (and sent the moment it is ready) rather
   * than queued, so the queue's capacity counts only what lies beyond the
   * room of live and starting workers.
   */
  pickStarting(): WorkerSlot | undefined {
    for (const s of this.list) {
      if (s.state === SlotState.Starting && s.canTake) return s;
    }
    return undefined;
  }

  /**
   * Prefetch for long tasks (`pipeline: 'auto'` only). Auto depth is 1 when a
   * task occupies its worker for a millisecond or more, so each task would
   * wait out a full round trip (result to the pool, next task back: two
   * thread wake-ups, 0.1 to 0.3 ms on a VM) with its worker idle. One more
   * task is sent ahead to hide it, but only while the backlog holds at least
   * one task for every worker: near the end of the queue tasks go only to
   * idle workers, so a task never waits behind another while a worker that
   * could run it has nothing to do. The task sent ahead always travels in a
   * message of its own (the worker's outbox must be empty), so a process
   * worker's per-batch start marker stays exact: it arrives when the worker
   * picks the task up, not with the task it waits behind. A task with a
   * transfer list is never sent ahead: its buffers would leave with it, so
   * it could not be requeued if the task before it killed the worker.
   * Returns a full depth-1 worker for the task at the head of the queue, or
   * none.
   */
  prefetchSlot(queue: TaskQueue<Task>): WorkerSlot | undefined {
    if (!this.#auto || queue.size < this.list.length) return undefined;
    if ((queue.peek() as Task).transfer !== undefined) return undefined;
    for (const s of this.list) {
      if (s.state === SlotState.Ready && s.depth === 1 && s.inflightCount === 1 && s.outbox.length === 0 && s.left > 0 && s.ringHasRoom) return s;
    }
    return undefined;
  }

  /** Whether some worker could take a task now, without taking it. */
  anyRoom(): boolean {
    if (this.starting > 0 && this.pickStarting() !== undefined) return true;
    if (!this.#depthOne) return selectWorker(this.list) !== undefined;
    const idle = this.#idle;
    while (idle.length > 0 && !(idle[idle.length - 1] as WorkerSlot).hasRoom) (idle.pop() as WorkerSlot).inIdle = false;
    return idle.length > 0;
  }

  /**
   * A worker may have nothing left on it (a task settled or was taken back,
   * or a picked worker was not given the task after all): if so, back on the
   * idle stack (depth-1 pools).
   */
  freedIfIdle(slot: WorkerSlot): void {
    if (slot.load === 0) this.freed(slot);
  }

  /** A worker has nothing left on it: back on the idle stack (depth-1 pools). */
  freed(slot: WorkerSlot): void {
    if (!this.#depthOne || slot.inIdle || slot.state !== SlotState.Ready) return;
    slot.inIdle = true;
    this.#idle.push(slot);
  }

  /** Workers alive or starting that take work: not retiring, draining or being killed. */
  live(): number {
    let n = 0;
    for (const s of this.list) if (s.state !== SlotState.Stopping) n++;
    return n;
  }
}
