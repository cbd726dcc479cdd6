/**
 * Quarantine: "isolate the failing subset". A worker whose own error rate
 * (tasks that threw, over tasks it finished) is far above the rest of the
 * pool's is drained and replaced: a worker with a poisoned cache, a broken
 * connection or corrupted native state fails everything it touches, while
 * its peers are fine. Pure: the scheduler passes the counts in.
 */

export interface QuarantinePolicy {
  factor: number;
  minErrorRate: number;
  minTasks: number;
}

export interface WorkerOutcomes {
  id: number;
  finished: number;
  failed: number;
}

/** Ids of the workers to quarantine. A worker needs `minTasks` outcomes and at least one judged peer. */
export function findOutliers(workers: readonly WorkerOutcomes[], p: QuarantinePolicy): number[] {
  let totalFinished = 0;
  let totalFailed = 0;
  for (const w of workers) {
    totalFinished += w.finished;
    totalFailed += w.failed;
  }
  const out: number[] = [];
  for (const w of workers) {
    if (w.finished < p.minTasks) continue;
    const peersFinished = totalFinished - w.finished;
    if (peersFinished < p.minTasks) continue;
    const rate = w.failed / w.finished;
    const peersRate = (totalFailed - w.failed) / peersFinished;
    if (rate >= p.minErrorRate && rate > p.factor * peersRate) out.push(w.id);
  }
  return out;
}
