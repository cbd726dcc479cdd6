/**
 * `--metrics host:port`: a minimal Prometheus text endpoint (GET /metrics)
 * over node:http, fed by `pool.stats()` and the runner's counters. It writes
 * the text format itself, so the CLI needs no prom-client (an optional peer
 * dependency, which `sluice/prometheus` uses for applications that already
 * have a registry).
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PoolStats } from '../api/stats.js';

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

export function prometheusText(stats: PoolStats, run: RunCounters): string {
  const out: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [labels: string, value: number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  metric('sluice_pool_workers', 'gauge', 'Workers by state.', [
    ['{state="busy"}', stats.workers.busy],
    ['{state="idle"}', stats.workers.idle],
    ['{state="starting"}', stats.workers.starting],
  ]);
  metric('sluice_pool_queued', 'gauge', 'Tasks waiting in the queue.', [['', stats.queued]]);
  metric('sluice_pool_running', 'gauge', 'Tasks sent to workers and not yet settled.', [['', stats.running]]);
  metric('sluice_pool_tasks_total', 'counter', 'Tasks by outcome.', [
    ['{outcome="submitted"}', stats.submitted],
    ['{outcome="completed"}', stats.completed],
    ['{outcome="failed"}', stats.failed],
    ['{outcome="rejected"}', stats.rejected],
  ]);
  metric('sluice_cli_lines_read_total', 'counter', 'Input lines read.', [['', run.read]]);
  metric('sluice_cli_lines_total', 'counter', 'Input lines finished, by outcome.', [
    ['{outcome="ok"}', run.ok],
    ['{outcome="dead"}', run.dead],
    ['{outcome="bad_json"}', run.badJson],
    ['{outcome="skipped"}', run.skipped],
  ]);
  metric('sluice_cli_retries_total', 'counter', 'Task retries.', [['', run.retries]]);
  metric('sluice_cli_in_flight', 'gauge', 'Lines submitted and not finished (retries included).', [['', run.inFlight]]);
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
