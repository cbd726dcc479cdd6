/**
 * Dispatch: assembling and sending work. Tasks assigned to a worker go into
 * its outbox; one microtask later `flush` sends each outbox as one message
 * (`[op, idx, input, id, correlation, ...]`, src/wire/protocol.ts), so a
 * burst of submissions costs one postMessage per worker, not one per task.
 * A batch that cannot be cloned is sent task by task to find the culprit,
 * which alone is refused. Sending marks each task in the worker's in-flight
 * ring; that is where results and exits find it.
 *
 * To a thread, an input holding Buffers goes marked (wire/values.ts), so
 * the task gets Buffers, not the plain Uint8Arrays structured clone makes of
 * them; an input that is not an object costs one `typeof` for it.
 */

import type { Transferable } from '../api/types.js';
import { SerializationError, UnknownTaskError } from '../api/errors.js';
import { channels } from '../observability/diagnostics.js';
import { sampled, toMicros } from '../observability/latency.js';
import { microtask } from '../time/microtask.js';
import { Op } from '../wire/protocol.js';
import { bufferPaths } from '../wire/values.js';
import type { Scheduler } from './scheduler.js';
import { Outcome, TaskState, type Task } from './task.js';
import { INFLIGHT_MASK, SlotState, type WorkerSlot } from './worker-slot.js';

/**
 * The opcode for a batch to this worker: marked while someone listens for
 * task starts, and RunAfter for a task sent ahead (the worker holds it until
 * its running tasks are done). Read once per outbox: it clears the flag.
 */
function runOp(slot: WorkerSlot): Op {
  const marked = channels.taskStarted.hasSubscribers;
  const ahead = slot.ahead;
  slot.ahead = false;
  if (ahead) return marked ? Op.RunAfterMarked : Op.RunAfter;
  return marked ? Op.RunMarked : Op.Run;
}

/**
 * One task's part of a Run message: task index, input, id, and correlation
 * (with trace context when there is one). `marks`: a thread, where an input
 * holding Buffers goes as `~idx, [input, paths]` (protocol.ts).
 */
function pushTask(msg: unknown[], idx: number, task: Task, marks: boolean): void {
  const input = task.input;
  const corr = task.meta === null ? task.correlation : [task.correlation, task.meta];
  if (marks) {
    const paths = bufferPaths(input);
    if (paths !== null) {
      msg.push(~idx, [input, paths], task.id, corr);
      return;
    }
  }
  msg.push(idx, input, task.id, corr);
}

export class Dispatch {
  #dirty: WorkerSlot[] = [];
  #flushQueued = false;
  readonly #flushBound = (): void => this.#flush();
  readonly #engine: Scheduler;
  readonly #auto: boolean;
  /** Inputs go to threads: Buffers in them are marked (see pushTask). */
  readonly #marks: boolean;

  constructor(engine: Scheduler) {
    this.#engine = engine;
    this.#auto = engine.options.pipeline === 'auto';
    this.#marks = engine.options.kind === 'thread';
  }

  /** The slot's outbox goes out with the next flush (one microtask from now). */
  markDirty(slot: WorkerSlot): void {
    this.#dirty.push(slot);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      microtask(this.#flushBound);
    }
  }

  /**
   * Kind 'async': a task submitted while a slot is free starts now, inside
   * submit (as with p-queue), not a microtask later. Last thing submit does:
   * the task may settle, or call run() again, from in here, and finds the
   * books settled. Only on a worker with nothing in flight, so no earlier
   * batch can be overtaken. A task with a transfer list goes with the next
   * flush instead: its input is moved there (inline.ts), and a value that
   * cannot be moved is refused on that path, as on the other kinds.
   */
  startNow(task: Task, slot: WorkerSlot): void {
    if (task.transfer !== undefined) {
      this.#engine.assign(task, slot);
      return;
    }
    this.#engine.dispatched(task, slot);
    const msg: unknown[] = [runOp(slot)];
    pushTask(msg, (slot.names as Map<string, number>).get(task.name) as number, task, false);
    this.#markSent(slot, task, this.#engine.clock.now());
    (slot.handle.runNow as (message: unknown[]) => void)(msg);
  }

  /** Sends each worker's assembled batch as one message. */
  #flush(): void {
    const engine = this.#engine;
    this.#flushQueued = false;
    const dirty = this.#dirty;
    this.#dirty = [];
    // One clock reading for the whole flush: every task in it is dispatched now.
    const now = engine.clock.now();
    for (const slot of dirty) {
      // Still starting: its batch goes out when it is ready (Lifecycle.onReady).
      if (slot.state === SlotState.Starting) continue;
      const batch = slot.outbox;
      slot.outbox = [];
      const op = runOp(slot);
      if (slot.state !== SlotState.Ready) {
        // The worker died or is stopping between assignment and flush.
        slot.outbox = batch;
        engine.requeueOutbox(slot);
        continue;
      }
      const msg: unknown[] = [op];
      let transfer: Transferable[] | undefined;
      const sent: Task[] = [];
      for (const task of batch) {
        const idx = (slot.names as Map<string, number>).get(task.name);
        if (idx === undefined) {
          this.#unsent(task, new UnknownTaskError(task.name, engine.taskList));
          continue;
        }
        pushTask(msg, idx, task, this.#marks);
        if (task.transfer !== undefined) (transfer ??= []).push(...task.transfer);
        sent.push(task);
      }
      if (sent.length === 0) {
        engine.workers.freedIfIdle(slot);
        continue;
      }
      try {
        slot.handle.send(msg, transfer);
      } catch {
        // One or more inputs cannot be cloned: send one by one to find them.
        this.#sendOneByOne(slot, sent, now, op);
        continue;
      }
      for (const task of sent) this.#markSent(slot, task, now);
    }
    engine.pump();
  }

  #sendOneByOne(slot: WorkerSlot, tasks: Task[], now: number, op: Op): void {
    for (const task of tasks) {
      const msg: unknown[] = [op];
      pushTask(msg, (slot.names as Map<string, number>).get(task.name) as number, task, this.#marks);
      try {
        slot.handle.send(msg, task.transfer);
      } catch (err) {
        this.#unsent(task, new SerializationError(task.name, 'input', err));
        continue;
      }
      this.#markSent(slot, task, now);
    }
    this.#engine.workers.freedIfIdle(slot);
  }

  /** A task taken out of a batch before it was sent: it never ran, and is refused. */
  #unsent(task: Task, err: Error): void {
    this.#engine.counts.running--;
    task.state = TaskState.Queued;
    this.#engine.settle(task, err, undefined, Outcome.Rejected);
  }

  /** The task is on its way: it takes the worker's next seq and a place in its in-flight ring; one more attempt. */
  #markSent(slot: WorkerSlot, task: Task, now: number): void {
    if (slot.inflightCount === 0 && this.#auto) slot.busySince = performance.now();
    const seq = ++slot.seq;
    task.seq = seq;
    task.attempt++;
    const waitMs = now - task.readyAt;
    slot.sentAt[seq & INFLIGHT_MASK] = now;
    if (sampled(task.id)) this.#engine.counts.waitHist.record(toMicros(waitMs));
    this.#engine.ev.taskDispatched(task, slot.handle.id, waitMs);
    slot.inflight[seq & INFLIGHT_MASK] = task;
    slot.inflightCount++;
    slot.left--;
  }
}
