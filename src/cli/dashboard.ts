/**
 * `--dashboard [host:port]` and `--dashboard-show-data` for `sluice run` and
 * `sluice serve`: the flag's parser, and the start of `sluice/dashboard`'s
 * server with what the CLI adds (the printed URL, the warning for a public
 * address, a busy port as a usage error). The dashboard's code is imported
 * only when the flag is given.
 */

import { InvalidArgumentError } from 'commander';
import type { Pool } from '../pool.js';
import type { Dashboard } from '../observability/dashboard/server.js';
import type { JobProgress } from '../observability/dashboard/frame.js';
import { UsageError } from './exit-codes.js';
import { parseHostPort, type MetricsAddress } from './metrics-server.js';

export type DashboardAddress = MetricsAddress;

export interface DashboardFlag {
  address: DashboardAddress;
  showData: boolean;
}

const DEFAULT_DASHBOARD: DashboardAddress = { host: '127.0.0.1', port: 0 };

/** `host:port`, `[v6]:port` or a port alone (on 127.0.0.1); port 0 picks a free one. */
export function parseDashboard(value: string): DashboardAddress {
  const v = value.trim();
  if (/^\d{1,5}$/.test(v) && Number(v) <= 65535) return { host: DEFAULT_DASHBOARD.host, port: Number(v) };
  const address = parseHostPort(v, false);
  if (address === undefined) {
    throw new InvalidArgumentError(`--dashboard takes an optional host:port (e.g. 127.0.0.1:8080) or a port, got "${value}" (to give no address before <module>, write the flag after it)`);
  }
  return address;
}

/** What commander hands over for `--dashboard [host:port]` and `--dashboard-show-data`, as one DashboardFlag (or none). */
export function dashboardFlag(dashboard: DashboardAddress | true | undefined, showData: boolean | undefined): DashboardFlag | undefined {
  if (dashboard === undefined) {
    if (showData === true) throw new UsageError('--dashboard-show-data needs --dashboard');
    return undefined;
  }
  return { address: dashboard === true ? DEFAULT_DASHBOARD : dashboard, showData: showData === true };
}

/**
 * Starts the dashboard and prints its URL (and a warning when it is reachable
 * from the network). An address that cannot be bound is a UsageError (exit 2).
 */
export async function startCliDashboard(
  pool: Pool | undefined,
  flag: DashboardFlag,
  stderr: NodeJS.WritableStream,
  extra: { title: string; job?: () => JobProgress },
): Promise<Dashboard> {
  if (pool === undefined) throw new UsageError('--dashboard needs a local pool to watch');
  const { serveDashboard } = await import('../observability/dashboard/server.js');
  let dashboard: Dashboard;
  try {
    dashboard = await serveDashboard(pool, { host: flag.address.host, port: flag.address.port, showData: flag.showData, title: extra.title, ...(extra.job !== undefined ? { job: extra.job } : {}) });
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const hint = e.code === 'EADDRINUSE' ? '; pick another port, or 0 for a free one' : '';
    throw new UsageError(`--dashboard: ${e.message}${hint}`, { cause: err });
  }
  if (dashboard.exposed) {
    stderr.write(`sluice: warning: the dashboard listens on ${dashboard.host}, reachable from the network; the token in its URL is the only guard (use 127.0.0.1 and an SSH tunnel to keep it private)\n`);
  }
  stderr.write(`sluice: dashboard on ${dashboard.url}\n`);
  return dashboard;
}

/** Dead letters the dashboard keeps (server.ts): only so many of a block's records are worth parsing. */
const LAST_DEAD = 12;

/**
 * Records of `sluice run`'s dead-letter file (newline-separated JSON, as the
 * workers wrote them), as the dashboard shows them: line, code and message;
 * the input goes along only for the dashboard to keep or drop (it keeps it
 * with --dashboard-show-data). Only the last few records are parsed: the page
 * shows the last dead letters, and a block of a thousand bad lines must not
 * cost a thousand parses.
 */
export function noteDeadLines(dashboard: Dashboard, task: string, texts: readonly string[]): void {
  const records = texts.flatMap((t) => t.split('\n')).filter((l) => l.length > 0).slice(-LAST_DEAD);
  for (const text of records) {
    let rec: { line?: unknown; error?: { code?: unknown; name?: unknown; message?: unknown }; input?: unknown; raw?: unknown };
    try {
      rec = JSON.parse(text) as typeof rec;
    } catch {
      continue;
    }
    const code = rec.error?.code ?? rec.error?.name;
    dashboard.noteDeadLetter({
      task,
      ...(typeof rec.line === 'number' ? { line: rec.line } : {}),
      code: typeof code === 'string' ? code : 'ERR_SLUICE_TASK_FAILED',
      message: typeof rec.error?.message === 'string' ? rec.error.message : String(rec.error?.message),
      input: rec.input ?? rec.raw,
    });
  }
}

/** What `sluice serve` hands over: its pool, and its jobs' final failures (the dead letters live in Redis). */
export interface ServedQueue {
  readonly pool: Pool;
  on(event: 'failed', listener: (info: { id: string; name: string }, error: unknown, final: boolean) => void): unknown;
}

/** `sluice serve --dashboard`: the server's pool, and each job that failed for good as a dead letter (job id, code, message). */
export async function startServeDashboard(server: ServedQueue, flag: DashboardFlag, stderr: NodeJS.WritableStream, queue: string): Promise<Dashboard> {
  const dashboard = await startCliDashboard(server.pool, flag, stderr, { title: `sluice serve ${queue}` });
  server.on('failed', (info, error, final) => {
    if (!final) return;
    const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as { code?: unknown; message?: unknown };
    dashboard.noteDeadLetter({ task: info.name, jobId: info.id, code: typeof e.code === 'string' ? e.code : 'ERR_SLUICE_TASK_FAILED', message: String(e.message) });
  });
  return dashboard;
}
