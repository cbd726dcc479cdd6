/**
 * Progress from inside a task (`ctx.progress(value)`) to the caller's
 * `onProgress`, in order. The worker coalesces a task's reports to the
 * latest value per flush, so a tight loop cannot flood the channel; a report
 * for a task already settled (aborted, timed out) is dropped. A callback
 * that throws never fails its task: the error is published on
 * `sluice:task:progress-error`.
 */

import type { WorkerHandle } from '../worker/handle.js';
import type { Scheduler } from './scheduler.js';
import { TaskState, type Task } from './task.js';
import { INFLIGHT_MASK } from './worker-slot.js';

export function deliverProgress(engine: Scheduler, handle: WorkerHandle, msg: unknown[]): void {
  const slot = engine.workers.byId.get(handle.id);
  if (slot === undefined) return;
  for (let i = 1; i < msg.length; i += 2) {
    const seq = msg[i] as number;
    const task: Task | undefined = slot.inflight[seq & INFLIGHT_MASK];
    if (task === undefined || task.seq !== seq || task.slot !== slot || task.state !== TaskState.Dispatched) continue;
    const onProgress = task.onProgress;
    if (onProgress === undefined) continue;
    try {
      onProgress(msg[i + 1]);
    } catch (err) {
      engine.ev.progressError(task, err);
    }
  }
}
