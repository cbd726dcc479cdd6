/**
 * `sluice/prometheus`: Prometheus metrics for pools, with prom-client (an
 * optional peer dependency). Counters and histograms are fed by the
 * diagnostics channels; gauges are read from `pool.stats()` at scrape time,
 * so a scrape always agrees with `stats()`.
 *
 * Naming follows Prometheus conventions: `sluice_` prefix, `_total` for
 * counters, base units (seconds). Labels are the pool name, the task name,
 * the outcome or reason: never task ids or correlation ids, which would make
 * the series count unbounded.
 */
import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { subscribePool } from './subscribe.js';
import type { Pool } from '../pool.js';
import type { TaskModule } from '../api/types.js';

export interface PrometheusOptions {
  /** Where the metrics are registered. @default a new Registry */
  registry?: Registry;
  /** Histogram buckets in seconds, suited to background work by default. */
  buckets?: number[];
}

export interface PoolMetrics {
  readonly registry: Registry;
  /** Stops feeding this pool's metrics (the series stay registered). */
  close(): void;
}

/** From a millisecond to five minutes: background jobs, not web requests. */
export const DEFAULT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

type AnyPool = Pool<TaskModule>;

/** Pools whose gauges each registry reports at scrape time. */
const poolsOf = new WeakMap<Registry, Set<AnyPool>>();

function metric<T extends Metric>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * Registers sluice's metrics for `pool`. Call once per pool; several pools
 * may share a registry (their series differ by the `pool` label, so give
 * them distinct names).
 */
export function instrumentPool(pool: AnyPool, options: PrometheusOptions = {}): PoolMetrics {
  const registry = options.registry ?? new Registry();
  const buckets = options.buckets ?? DEFAULT_BUCKETS;
  let pools = poolsOf.get(registry);
  if (pools === undefined) {
    pools = new Set();
    poolsOf.set(registry, pools);
  }
  pools.add(pool);
  const live = pools;
  const registers = [registry];

  const tasks = metric(registry, 'sluice_tasks_total', () => new Counter({ name: 'sluice_tasks_total', help: 'Tasks that reached an outcome, by pool, task and outcome (completed, failed, rejected).', labelNames: ['pool', 'task', 'outcome'], registers }));
  const retries = metric(registry, 'sluice_task_retries_total', () => new Counter({ name: 'sluice_task_retries_total', help: 'Failed attempts that were retried.', labelNames: ['pool', 'task'], registers }));
  const deadLettered = metric(registry, 'sluice_tasks_dead_lettered_total', () => new Counter({ name: 'sluice_tasks_dead_lettered_total', help: 'Tasks written to the dead-letter queue, by reason (failed, dropped, deadline).', labelNames: ['pool', 'task', 'reason'], registers }));
  const restarts = metric(registry, 'sluice_worker_restarts_total', () => new Counter({ name: 'sluice_worker_restarts_total', help: 'Workers replaced, by reason (crash, timeout, abort, recycle, stalled).', labelNames: ['pool', 'reason'], registers }));
  const wait = metric(registry, 'sluice_task_wait_seconds', () => new Histogram({ name: 'sluice_task_wait_seconds', help: 'Time from submission to dispatch to a worker.', labelNames: ['pool', 'task'], buckets, registers }));
  const run = metric(registry, 'sluice_task_run_seconds', () => new Histogram({ name: 'sluice_task_run_seconds', help: 'Running time of completed tasks inside the worker.', labelNames: ['pool', 'task'], buckets, registers }));

  // Gauges: read from stats() at scrape time.
  const forEachPool = (fn: (p: AnyPool, s: ReturnType<AnyPool['stats']>) => void): void => {
    for (const p of live) fn(p, p.stats());
  };
  metric(registry, 'sluice_queue_depth', () => new Gauge({ name: 'sluice_queue_depth', help: 'Tasks waiting in the queue (and for room in it).', labelNames: ['pool'], registers, collect() { this.reset(); forEachPool((p, s) => this.set({ pool: p.name }, s.queued + s.waiting)); } }));
  metric(registry, 'sluice_workers', () => new Gauge({ name: 'sluice_workers', help: 'Workers by state (busy, idle, starting).', labelNames: ['pool', 'state'], registers, collect() { this.reset(); forEachPool((p, s) => { this.set({ pool: p.name, state: 'busy' }, s.workers.busy); this.set({ pool: p.name, state: 'idle' }, s.workers.idle); this.set({ pool: p.name, state: 'starting' }, s.workers.starting); }); } }));
  metric(registry, 'sluice_worker_utilization', () => new Gauge({ name: 'sluice_worker_utilization', help: 'Busy fraction of ready workers, averaged over the sliding window (0..1).', labelNames: ['pool'], registers, collect() { this.reset(); forEachPool((p, s) => this.set({ pool: p.name }, s.window.utilization)); } }));
  metric(registry, 'sluice_tasks_running', () => new Gauge({ name: 'sluice_tasks_running', help: 'Tasks on workers now.', labelNames: ['pool'], registers, collect() { this.reset(); forEachPool((p, s) => this.set({ pool: p.name }, s.running)); } }));

  const name = pool.name;
  const detach = subscribePool(pool.id, {
    taskCompleted: (e) => {
      tasks.inc({ pool: name, task: e.task, outcome: 'completed' });
      run.observe({ pool: name, task: e.task }, e.runMs / 1000);
    },
    taskFailed: (e) => tasks.inc({ pool: name, task: e.task, outcome: 'failed' }),
    taskRejected: (e) => tasks.inc({ pool: name, task: e.task, outcome: 'rejected' }),
    taskDispatched: (e) => wait.observe({ pool: name, task: e.task }, e.waitMs / 1000),
    taskRetried: (e) => retries.inc({ pool: name, task: e.task }),
    taskDeadLettered: (e) => deadLettered.inc({ pool: name, task: e.task, reason: e.reason }),
    workerExited: (e) => {
      // Retirement of idle workers and close are not restarts.
      if (e.reason !== 'close' && e.reason !== 'retire') restarts.inc({ pool: name, reason: e.reason });
    },
  });
  return {
    registry,
    close() {
      detach();
      live.delete(pool);
    },
  };
}
