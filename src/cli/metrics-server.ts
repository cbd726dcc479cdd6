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

export interface MetricsAddress {
  host: string;
  port: number;
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

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function prometheusText(pool: string, task: string, stats: PoolStats | undefined, run: RunCounters): string {
  const out: string[] = [];
  const metric = (def: MetricDef, samples: [labels: Record<string, string>, value: number][]): void => {
    out.push(`# HELP ${def.name} ${def.help}`, `# TYPE ${def.name} ${def.type}`);
    for (const [labels, value] of samples) {
      const keys = Object.keys(labels);
      out.push(`${def.name}${keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${label(labels[k] as string)}"`).join(',')}}`} ${value}`);
    }
  };
  const p = { pool };
  if (stats !== undefined) {
    metric(M.workers, [
      [{ pool, state: 'busy' }, stats.workers.busy],
      [{ pool, state: 'idle' }, stats.workers.idle],
      [{ pool, state: 'starting' }, stats.workers.starting],
    ]);
    metric(M.queueDepth, [[p, stats.queued + stats.waiting]]);
    metric(M.running, [[p, stats.running]]);
    metric(M.utilization, [[p, stats.window.utilization]]);
  }
  metric(M.retries, [[{ pool, task }, run.retries]]);
  metric(CLI_METRICS.linesRead, [[{}, run.read]]);
  metric(CLI_METRICS.lines, [
    [{ outcome: 'ok' }, run.ok],
    [{ outcome: 'dead' }, run.dead],
    [{ outcome: 'bad_json' }, run.badJson],
    [{ outcome: 'skipped' }, run.skipped],
  ]);
  metric(CLI_METRICS.inFlight, [[{}, run.inFlight]]);
  return out.join('\n') + '\n';
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
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
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
