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
import { POOL_METRICS as M, promFields } from './metric-defs.js';
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

  const tasks = metric(registry, M.tasks.name, () => new Counter({ ...promFields(M.tasks), registers }));
  const retries = metric(registry, M.retries.name, () => new Counter({ ...promFields(M.retries), registers }));
  const deadLettered = metric(registry, M.deadLettered.name, () => new Counter({ ...promFields(M.deadLettered), registers }));
  const restarts = metric(registry, M.restarts.name, () => new Counter({ ...promFields(M.restarts), registers }));
  const wait = metric(registry, M.wait.name, () => new Histogram({ ...promFields(M.wait), buckets, registers }));
  const run = metric(registry, M.run.name, () => new Histogram({ ...promFields(M.run), buckets, registers }));

  // Gauges: read from stats() at scrape time.
  const forEachPool = (fn: (p: AnyPool, s: ReturnType<AnyPool['stats']>) => void): void => {
    for (const p of live) fn(p, p.stats());
  };
  metric(registry, M.queueDepth.name, () => new Gauge({ ...promFields(M.queueDepth), registers, collect() { this.reset(); forEachPool((p, s) => this.set({ pool: p.name }, s.queued + s.waiting)); } }));
  metric(registry, M.workers.name, () => new Gauge({ ...promFields(M.workers), registers, collect() { this.reset(); forEachPool((p, s) => { this.set({ pool: p.name, state: 'busy' }, s.workers.busy); this.set({ pool: p.name, state: 'idle' }, s.workers.idle); this.set({ pool: p.name, state: 'starting' }, s.workers.starting); }); } }));
  metric(registry, M.utilization.name, () => new Gauge({ ...promFields(M.utilization), registers, collect() { this.reset(); forEachPool((p, s) => this.set({ pool: p.name }, s.window.utilization)); } }));
  metric(registry, M.running.name, () => new Gauge({ ...promFields(M.running), registers, collect() { this.reset(); forEachPool((p, s) => this.set({ pool: p.name }, s.running)); } }));

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
