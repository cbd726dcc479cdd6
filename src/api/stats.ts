/**
 * What `pool.stats()` returns: fresh, frozen snapshots, built by the engine
 * (src/engine/stats.ts) but part of the public API, so defined here.
 */

import type { LatencySummary } from '../observability/latency.js';
import type { LoadSummary } from '../sizing/load-window.js';
import type { LittleSummary } from '../sizing/little.js';
import type { BreakerState } from '../supervision/circuit-breaker.js';

/** `paused`: running, but no task starts until `resume()` (pool.pause()). */
export type PoolState = 'starting' | 'running' | 'paused' | 'closing' | 'closed' | 'failed';

export interface PoolStats {
  /** Workers alive or starting (never more than the configured maximum). */
  readonly size: number;
  readonly workers: { readonly busy: number; readonly idle: number; readonly starting: number };
  /** Tasks waiting in the queue. */
  readonly queued: number;
  /** Calls waiting for room in a full queue (`overflow: 'wait'`). */
  readonly waiting: number;
  /** Tasks sent to workers and not yet settled. */
  readonly running: number;
  readonly submitted: number;
  readonly completed: number;
  /** Accepted tasks that ended in an error (thrown, timed out, aborted, crashed). */
  readonly failed: number;
  /** Calls the pool refused (queue full, closed, unknown task, bad options). */
  readonly rejected: number;
  /** Failed tasks dropped by an overflow policy (counted in `failed` too). */
  readonly dropped: number;
  /** Attempts that failed and were retried. */
  readonly retried: number;
  /** Tasks waiting out a retry backoff (holding no worker). */
  readonly backoff: number;
  /** Entries written to the dead-letter queue. */
  readonly deadLettered: number;
  /** Entries the dead-letter sink failed to record (a full disk, a throwing callback); they are kept in memory (`deadLetters()`). */
  readonly deadLetterErrors: number;
  /** Tasks taken back, unstarted, from one worker's inbox and run by another (work stealing). */
  readonly stolen: number;
  /** Queue depth, worker utilization and throughput over the sliding window. */
  readonly window: LoadSummary;
  /** Wait (submission to dispatch) and run (inside the worker) times since the pool started, in ms. */
  readonly latency: { readonly wait: LatencySummary; readonly run: LatencySummary };
  /** Per-worker figures that need no round trip; `pool.diagnostics()` asks the workers for more. */
  readonly workerList: readonly WorkerStat[];
  /** The size the pool is heading for: the scaler's (or `resize()`'s) last word, within [min, max]. */
  readonly targetSize: number;
  /** Little's law: arrival rate λ, mean running time W and the implied concurrency N = λ·W, to read beside `size`. */
  readonly little: LittleSummary;
  readonly state: PoolState;
  /** Supervision counters (docs/supervision.md). */
  readonly supervision: SupervisionStats;
}

export interface SupervisionStats {
  /** Unexpected worker exits and stalls (what restart intensity counts). */
  readonly restarts: number;
  readonly stalls: number;
  readonly recycled: number;
  readonly quarantined: number;
  /** Workers flagged as leaking (alive now). */
  readonly leaking: number;
  /** Circuit breaker states by task name (`'*'`: the pool-wide breaker). */
  readonly breakers: Readonly<Record<string, BreakerState>>;
}


export interface WorkerStat {
  readonly id: number;
  readonly state: 'starting' | 'ready' | 'stopping';
  /** Tasks on it now (running or waiting in its inbox). */
  readonly inflight: number;
  readonly completed: number;
  /** Current pipeline depth. */
  readonly depth: number;
  /** Tasks that threw on it. */
  readonly failures: number;
  /** Its heap keeps growing across tasks (supervision/recycle.ts). */
  readonly leaking: boolean;
}
