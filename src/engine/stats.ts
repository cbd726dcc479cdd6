/**
 * The engine's counters, the `stats()` snapshot built from them and from
 * the other parts' books, and `diagnostics()`, which asks the workers. Counters are plain fields bumped on the hot path;
 * latency goes into Node's HDR histograms (perf_hooks), sampled per task id,
 * so there is no home-made percentile code.
 */

import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { PoolStats } from '../api/stats.js';
import { summarize } from '../observability/latency.js';
import { procStatus, workerDiagnostics, type DiagnoseResult, type PoolDiagnostics } from '../observability/worker-diagnostics.js';
import type { Scheduler } from './scheduler.js';
import { SlotState, type WorkerSlot } from './worker-slot.js';

export class Counters {
  /** Tasks on a worker (in an outbox or in flight), orphans excluded. */
  running = 0;
  submitted = 0;
  completed = 0;
  failed = 0;
  rejected = 0;
  dropped = 0;
  /** Tasks taken back from one worker's inbox for another (work stealing). */
  stolen = 0;
  retried = 0;
  recycled = 0;
  quarantined = 0;
  /** Microseconds from ready to dispatch, and from start to result. */
  readonly waitHist: RecordableHistogram = createHistogram();
  readonly runHist: RecordableHistogram = createHistogram();
}

function slotState(s: WorkerSlot): 'starting' | 'ready' | 'stopping' {
  return s.state === SlotState.Starting ? 'starting' : s.state === SlotState.Ready ? 'ready' : 'stopping';
}

/** A frozen snapshot of the pool (the public PoolStats). */
export function poolStats(engine: Scheduler): PoolStats {
  const { counts, workers, backlog, supervised, sampling } = engine;
  let busy = 0;
  let idle = 0;
  let starting = 0;
  for (const s of workers.list) {
    if (s.state === SlotState.Starting) starting++;
    else if (s.state === SlotState.Ready) {
      if (s.load > 0) busy++;
      else idle++;
    }
  }
  return Object.freeze({
    size: workers.list.length,
    workers: Object.freeze({ busy, idle, starting }),
    queued: backlog.queue.size,
    waiting: backlog.waiting.size,
    running: counts.running,
    submitted: counts.submitted,
    completed: counts.completed,
    failed: counts.failed,
    rejected: counts.rejected,
    dropped: counts.dropped,
    retried: counts.retried,
    backoff: engine.retries.size,
    deadLettered: engine.dlq.written,
    deadLetterErrors: engine.dlq.failures,
    stolen: counts.stolen,
    window: sampling.load.summary(),
    latency: Object.freeze({ wait: summarize(counts.waitHist), run: summarize(counts.runHist) }),
    workerList: Object.freeze(
      workers.list.map((s) => Object.freeze({ id: s.handle.id, state: slotState(s), inflight: s.load, completed: s.completed, depth: s.depth, failures: s.failures, leaking: s.leaking } as const)),
    ),
    targetSize: workers.target,
    little: sampling.little.summary(),
    state: engine.state === 'running' && engine.controls.paused ? 'paused' : engine.state,
    supervision: Object.freeze({
      restarts: supervised.intensity?.total ?? 0,
      stalls: supervised.checks?.stalls ?? 0,
      recycled: counts.recycled,
      quarantined: counts.quarantined,
      leaking: workers.list.filter((x) => x.leaking).length,
      breakers: Object.freeze(supervised.breakers?.states() ?? {}),
    }),
  });
}

/** Asks every live worker about itself; settles even when a worker is stuck (its entry then lacks its own figures). */
export async function poolDiagnostics(engine: Scheduler): Promise<PoolDiagnostics> {
  const slots = engine.workers.list.filter((s) => s.state !== SlotState.Stopping);
  const reports = await Promise.all(slots.map((s) => s.handle.diagnose()));
  const workers = slots.map((s, i) => workerDiagnostics(reports[i] as DiagnoseResult, { workerId: s.handle.id, kind: engine.options.kind, inflight: s.load, completed: s.completed }));
  return { workers, live: engine.workers.list.length, configured: engine.options.max, process: procStatus('self') };
}
