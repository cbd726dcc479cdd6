/**
 * What the dashboard sends to the page once a second: one `Frame`, built once
 * and serialized once whatever the number of browsers watching. The page
 * (page-script.ts) reads these field names; the tests read them too.
 *
 * Nothing here carries a task's input or output unless the dashboard was
 * started with `showData`: dead letters carry the code, the message and
 * where the task came from (task name and id, or a line of `sluice run`).
 */

import type { BreakerState } from '../../supervision/circuit-breaker.js';

/** One point of the charts: kept in a ring of `historySize` points. */
export interface Point {
  /** Wall-clock ms since the epoch. */
  t: number;
  /** Tasks completed per second over the last interval. */
  throughput: number;
  /** Tasks failed per second over the last interval. */
  failures: number;
  /** Latency (wait + run) of the interval's sampled completions, in ms; null when none completed. */
  p50: number | null;
  p99: number | null;
  queued: number;
  waiting: number;
  running: number;
  /** `sluice run`: lines per second over the last interval. */
  lineRate: number | null;
}

export interface WorkerRow {
  id: number;
  state: 'starting' | 'ready' | 'stopping';
  inflight: number;
  completed: number;
  failures: number;
  depth: number;
  leaking: boolean;
  /** From `pool.diagnostics()`: null until its first answer, or where neither the worker nor the parent could read it. */
  pid: number | null;
  rss: number | null;
  heapUsed: number | null;
  /** Event-loop utilization over the worker's life, 0..1. */
  elu: number | null;
  /** The worker answered the last diagnostics request. */
  reported: boolean;
}

export interface DeadLetterRow {
  /** Wall-clock ms since the epoch. */
  t: number;
  task: string;
  /** The pool's task id (library pools), or null. */
  taskId: number | null;
  /** `sluice run`: the input line. */
  line: number | null;
  /** `sluice serve`: the BullMQ job id. */
  jobId: string | null;
  code: string;
  message: string;
  /** Only with `showData`: the input, as JSON cut to 500 characters. */
  input?: string;
}

export interface EventRow {
  t: number;
  /** `saturated`, `unsaturated`, `latency-alarm`, `latency-normal`, `pool-failed`, `pool-recovered`, `worker-leaking`, `worker-exited`, `worker-stalled`. */
  kind: string;
  text: string;
}

/** The progress of a job over the pool (`sluice run`'s lines), when one was given. */
export interface JobProgress {
  /** Lines (items) finished, counting those an earlier run did. */
  done: number;
  /** Lines in the input, once known. */
  total: number | undefined;
  /** Lines per second since the job started. */
  rate: number;
  /** Lines that failed (dead-lettered). */
  failed: number;
}

export interface JobFrame extends JobProgress {
  /** Milliseconds left at the current rate; null when unknown. */
  etaMs: number | null;
}

export interface Frame {
  t: number;
  /** Seconds between ticks, as configured. */
  intervalMs: number;
  pool: { name: string; kind: string; state: string; size: number; targetSize: number; live: number | null; configured: number | null };
  counters: {
    submitted: number;
    completed: number;
    failed: number;
    rejected: number;
    retried: number;
    dropped: number;
    deadLettered: number;
    stolen: number;
  };
  point: Point;
  /** Whole-life latency from `stats().latency`, ms. */
  latency: { waitP99: number; runP50: number; runP99: number };
  utilization: number;
  workers: WorkerRow[];
  supervision: { restarts: number; stalls: number; recycled: number; quarantined: number; leaking: number; breakers: Record<string, BreakerState> };
  /** Alarms on now. */
  alarms: { saturated: boolean; latency: boolean; failed: boolean };
  events: EventRow[];
  deadLetters: DeadLetterRow[];
  job: JobFrame | null;
  showData: boolean;
}
