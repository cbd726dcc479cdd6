/**
 * What `sluice run` was asked to do, after its flags are parsed and checked
 * (run-options.ts). The runner (runner.ts) takes only this, so it can be
 * driven in-process by tests without going through argv.
 */

import type { DashboardFlag } from '../dashboard.js';
import type { MetricsAddress } from '../metrics-server.js';
import type { ProgressMode } from './progress.js';
import type { RedisRunOptions } from './redis-executor.js';

export interface RunConfig {
  /** file: URL of the task module. */
  moduleUrl: string;
  task: string;
  /** A path, or '-' for stdin. */
  input: string;
  output: string;
  dlq: string;
  journal: string;
  kind: string;
  /** Workers; undefined = the pool's default (available parallelism). */
  size: number | undefined;
  /** Pool queue capacity; also, with `size`, the bound on lines in flight. */
  queue: number;
  retries: number;
  /** Backoff before retry 1; doubled for each further retry. */
  retryDelayMs: number;
  timeoutMs: number | undefined;
  metrics: MetricsAddress | undefined;
  /** `--dashboard [host:port]` (with `--dashboard-show-data`): a live page (docs/dashboard.md). */
  dashboard?: DashboardFlag | undefined;
  ordered: boolean;
  /** Ignore any journal and start over. */
  fresh: boolean;
  progress: ProgressMode;
  /** Interval of the plain (non-terminal) status line. */
  statusIntervalMs: number;
  /** `--redis` / `--redis-queue`: the lines run on `sluice serve` processes (redis-executor.ts). */
  redis?: RedisRunOptions;
}
