/**
 * `--metrics host:port`: a minimal Prometheus text endpoint (GET /metrics)
 * over node:http, fed by `pool.stats()` and the runner's counters. The pool's
 * series have the names, help and labels of `sluice/prometheus` (one
 * definition: src/observability/metric-defs.ts), written in the text format
 * here, so the CLI needs no prom-client (an optional peer dependency, which
 * `sluice/prometheus` uses for applications that already have a registry).
 * The runner's own series are `sluice_cli_*`.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PoolStats } from '../api/stats.js';
import { POOL_METRICS as M, type MetricDef } from '../observability/metric-defs.js';
import { UsageError } from './exit-codes.js';

export interface MetricsAddress {
  host: string;
  port: number;
}

/**
 * `host:port` or `[v6]:port` (port 0 to 65535), or undefined. A flag whose
 * value is optional refuses '/' in the host, so a module path after it is
 * not taken for an address.
 */
export function parseHostPort(value: string, hostMayHoldSlash: boolean): MetricsAddress | undefined {
  const m = (hostMayHoldSlash ? /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/ : /^(?:\[([^\]]+)\]|([^:[\]/]+)):(\d{1,5})$/).exec(value.trim());
  const port = m === null ? NaN : Number(m[3]);
  return m === null || port > 65535 ? undefined : { host: (m[1] ?? m[2]) as string, port };
}

export interface RunCounters {
  read: number;
  ok: number;
  dead: number;
  badJson: number;
  skipped: number;
  retries: number;
  inFlight: number;
}

export interface MetricsServer {
  /** http://host:port/metrics, with the port actually bound (useful with port 0). */
  readonly url: string;
  close(): Promise<void>;
}

/** The runner's own series (lines, not the pool's tasks: a task of `sluice run` carries a block of lines). */
export const CLI_METRICS = {
  linesRead: { name: 'sluice_cli_lines_read_total', type: 'counter', help: 'Input lines read.', labels: [] },
  lines: { name: 'sluice_cli_lines_total', type: 'counter', help: 'Input lines finished, by outcome (ok, dead, bad_json, skipped).', labels: ['outcome'] },
  inFlight: { name: 'sluice_cli_in_flight', type: 'gauge', help: 'Lines read and not finished (retries included).', labels: [] },
} as const satisfies Record<string, MetricDef>;

/** `sluice serve`'s own series: jobs, which are the pool's tasks one for one, by queue. */
export const SERVE_METRICS = {
  jobs: { name: 'sluice_serve_jobs_total', type: 'counter', help: 'BullMQ jobs this server finished, by outcome (completed, failed, dead_lettered).', labels: ['queue', 'outcome'] },
  inFlight: { name: 'sluice_serve_jobs_in_flight', type: 'gauge', help: 'BullMQ jobs this server holds now.', labels: ['queue'] },
} as const satisfies Record<string, MetricDef>;

/** What `sluice serve` counts (bullmq's ServerStats, by shape: the CLI loads bullmq only when serving). */
export interface ServeCounters {
  inFlight: number;
  completed: number;
  failed: number;
  deadLettered: number;
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text, one series at a time. */
class TextWriter {
  readonly #out: string[] = [];

  metric(def: MetricDef, samples: [labels: Record<string, string>, value: number][]): void {
    this.#out.push(`# HELP ${def.name} ${def.help}`, `# TYPE ${def.name} ${def.type}`);
    for (const [labels, value] of samples) {
      const keys = Object.keys(labels);
      this.#out.push(`${def.name}${keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${label(labels[k] as string)}"`).join(',')}}`} ${value}`);
    }
  }

  /** The pool's gauges, as `sluice/prometheus` names them. */
  pool(pool: string, stats: PoolStats): void {
    const p = { pool };
    this.metric(M.workers, [
      [{ pool, state: 'busy' }, stats.workers.busy],
      [{ pool, state: 'idle' }, stats.workers.idle],
      [{ pool, state: 'starting' }, stats.workers.starting],
    ]);
    this.metric(M.queueDepth, [[p, stats.queued + stats.waiting]]);
    this.metric(M.running, [[p, stats.running]]);
    this.metric(M.utilization, [[p, stats.window.utilization]]);
  }

  text(): string {
    return this.#out.join('\n') + '\n';
  }
}

/** `sluice run`: the pool's gauges, line retries, and the runner's line series. */
export function prometheusText(pool: string, task: string, stats: PoolStats | undefined, run: RunCounters): string {
  const w = new TextWriter();
  if (stats !== undefined) w.pool(pool, stats);
  w.metric(M.retries, [[{ pool, task }, run.retries]]);
  w.metric(CLI_METRICS.linesRead, [[{}, run.read]]);
  w.metric(CLI_METRICS.lines, [
    [{ outcome: 'ok' }, run.ok],
    [{ outcome: 'dead' }, run.dead],
    [{ outcome: 'bad_json' }, run.badJson],
    [{ outcome: 'skipped' }, run.skipped],
  ]);
  w.metric(CLI_METRICS.inFlight, [[{}, run.inFlight]]);
  return w.text();
}

/** `sluice serve`: the pool's gauges and the server's job series. */
export function serveText(pool: string, queue: string, stats: PoolStats, serve: ServeCounters): string {
  const w = new TextWriter();
  w.pool(pool, stats);
  w.metric(SERVE_METRICS.jobs, [
    [{ queue, outcome: 'completed' }, serve.completed],
    [{ queue, outcome: 'failed' }, serve.failed],
    [{ queue, outcome: 'dead_lettered' }, serve.deadLettered],
  ]);
  w.metric(SERVE_METRICS.inFlight, [[{ queue }, serve.inFlight]]);
  return w.text();
}

export function startMetricsServer(address: MetricsAddress, collect: () => string): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url === '/')) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(collect());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found; try /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    // A port in use or an address not on this machine is the user's to fix: a usage error (exit 2), for `run` and `serve` alike.
    const refused = (err: Error): void => reject(new UsageError(`cannot serve metrics on ${address.host}:${address.port}: ${err.message}`, { cause: err }));
    server.once('error', refused);
    server.listen(address.port, address.host, () => {
      server.off('error', refused);
      // The endpoint must not keep a finished run alive.
      server.unref();
      const bound = server.address() as AddressInfo;
      const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve({
        url: `http://${host}:${bound.port}/metrics`,
        close: () =>
          new Promise<void>((res) => {
            server.closeAllConnections();
            server.close(() => res());
          }),
      });
    });
  });
}
