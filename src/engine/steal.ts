/**
 * Work stealing, the choice: a pure function of the workers' books, like
 * the choice of worker (select.ts), testable without spawning anything.
 *
 * A worker has room and nothing to do, while another holds tasks in its
 * inbox that have not started (sent in a pipelined batch before their cost
 * was known, or sent ahead): the newer half of them are asked back. The
 * worker answers `Status.Revoked` for each one it had not started, and
 * drops it; one that started meanwhile simply runs and answers as usual,
 * so no task runs twice (the engine sends `[Op.Revoke, ...seqs]` and
 * requeues what comes back). Not worth it when the victim's backlog will be
 * gone within about a round trip: its measured service time says so, which
 * only the auto pipeline measures (a fixed depth is the user's choice).
 */

import { Op } from '../wire/protocol.js';
import { TaskState, type Task } from './task.js';
import { INFLIGHT_MASK, SlotState, type WorkerSlot } from './worker-slot.js';

/** Leave a worker's inbox alone when it holds less than this much work (ms, by its measured service time). */
export const STEAL_MIN_MS = 0.5;

/** The worker to take tasks back from, and their seqs (newest first), for `idle`; undefined when nothing is worth taking. */
export function chooseSteal(idle: WorkerSlot, workers: readonly WorkerSlot[]): { victim: WorkerSlot; seqs: number[] } | undefined {
  if (!idle.hasRoom) return undefined;
  let victim: WorkerSlot | undefined;
  let most = 0;
  for (const s of workers) {
    // Cheap tests first: a worker whose whole backlog will be gone within a round trip is left alone.
    if (s === idle || s.state !== SlotState.Ready || s.revoking.size > 0 || s.inflightCount < 2 || s.serviceMs * s.inflightCount <= STEAL_MIN_MS) continue;
    const waiting = unstarted(s);
    if (waiting > most && s.serviceMs * waiting > STEAL_MIN_MS) {
      victim = s;
      most = waiting;
    }
  }
  if (victim === undefined) return undefined;
  const take = Math.ceil(most / 2);
  const seqs: number[] = [];
  for (let seq = victim.seq; seq > victim.seq - most && seqs.length < take; seq--) {
    const task: Task | undefined = victim.inflight[seq & INFLIGHT_MASK];
    if (task === undefined || task.state !== TaskState.Dispatched || task.slot !== victim || task.seq !== seq) continue;
    seqs.push(seq);
  }
  return seqs.length === 0 ? undefined : { victim, seqs };
}

/** Tasks sent to this worker that it has not started, newest first until one has (tasks start in send order). */
function unstarted(slot: WorkerSlot): number {
  const h = slot.handle;
  let n = 0;
  for (let seq = slot.seq; seq > slot.seq - slot.inflightCount && seq > 0; seq--) {
    if (h.startedAt(seq) !== undefined) break;
    n++;
  }
  return n;
}

/** Asks the chosen worker for its unstarted tasks back, for `idle`; what comes back (Status.Revoked) is requeued by the engine. */
export function askBack(idle: WorkerSlot, workers: readonly WorkerSlot[]): void {
  const pick = chooseSteal(idle, workers);
  if (pick !== undefined) revoke(pick.victim, pick.seqs);
}

/**
 * Sends `[Op.Revoke, ...seqs]` and marks them asked (the one way stealing,
 * quarantine, pause and clear take tasks back); false when the worker is
 * gone, whose exit then places what never started.
 */
export function revoke(slot: WorkerSlot, seqs: readonly number[]): boolean {
  try {
    slot.handle.send([Op.Revoke, ...seqs]);
  } catch {
    return false;
  }
  for (const seq of seqs) slot.revoking.add(seq);
  return true;
}
