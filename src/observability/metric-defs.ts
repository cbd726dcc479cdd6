/**
 * The names, types, help and labels of sluice's Prometheus metrics, in one
 * place: `sluice/prometheus` registers them with prom-client, and
 * `sluice run --metrics` writes the same series in the text format itself
 * (src/cli/metrics-server.ts). A dashboard built on one works on the other.
 */

export interface MetricDef {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly labels: readonly string[];
}

export const POOL_METRICS = {
  tasks: { name: 'sluice_tasks_total', type: 'counter', help: 'Tasks that reached an outcome, by pool, task and outcome (completed, failed, rejected).', labels: ['pool', 'task', 'outcome'] },
  retries: { name: 'sluice_task_retries_total', type: 'counter', help: 'Failed attempts that were retried.', labels: ['pool', 'task'] },
  deadLettered: { name: 'sluice_tasks_dead_lettered_total', type: 'counter', help: 'Tasks written to the dead-letter queue, by reason (failed, dropped, deadline).', labels: ['pool', 'task', 'reason'] },
  restarts: { name: 'sluice_worker_restarts_total', type: 'counter', help: 'Workers replaced, by reason (crash, timeout, abort, recycle, stalled).', labels: ['pool', 'reason'] },
  wait: { name: 'sluice_task_wait_seconds', type: 'histogram', help: 'Time from submission to dispatch to a worker.', labels: ['pool', 'task'] },
  run: { name: 'sluice_task_run_seconds', type: 'histogram', help: 'Running time of completed tasks inside the worker.', labels: ['pool', 'task'] },
  queueDepth: { name: 'sluice_queue_depth', type: 'gauge', help: 'Tasks waiting in the queue (and for room in it).', labels: ['pool'] },
  workers: { name: 'sluice_workers', type: 'gauge', help: 'Workers by state (busy, idle, starting).', labels: ['pool', 'state'] },
  utilization: { name: 'sluice_worker_utilization', type: 'gauge', help: 'Busy fraction of ready workers, averaged over the sliding window (0..1).', labels: ['pool'] },
  running: { name: 'sluice_tasks_running', type: 'gauge', help: 'Tasks on workers now.', labels: ['pool'] },
} as const satisfies Record<string, MetricDef>;

/** The prom-client constructor fields of a definition. */
export function promFields(def: MetricDef): { name: string; help: string; labelNames: string[] } {
  return { name: def.name, help: def.help, labelNames: [...def.labels] };
}
