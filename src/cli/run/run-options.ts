/**
 * Parses and checks `sluice run` flags into a RunConfig. Each check says what
 * was expected and what was got, like the library's InvalidOptionError.
 */

import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { availableCpus } from '../../sizing/cpu-count.js';
import { UsageError } from '../exit-codes.js';
import { dashboardFlag, type DashboardAddress } from '../dashboard.js';
import { parseHostPort, type MetricsAddress } from '../metrics-server.js';
import type { ProgressMode } from './progress.js';
import type { RunConfig } from './run-config.js';

/** Flags as commander hands them over (after the per-flag parsers below). */
export interface RunFlags {
  task: string;
  input: string;
  output: string;
  kind: string;
  size: number | 'auto';
  queue: number;
  retries: number;
  retryDelay: number;
  timeout?: number;
  dlq?: string;
  metrics?: MetricsAddress;
  dashboard?: DashboardAddress | true;
  dashboardShowData?: boolean;
  ordered?: boolean;
  fresh?: boolean;
  progress: ProgressMode;
  statusInterval: number;
  allowLargeSize?: boolean;
  redis?: string;
  redisQueue?: string;
}

/** Lines that may wait for a worker: room for blocks of hundreds of lines on every worker (the block size adapts below it). */
export const DEFAULT_QUEUE = 2048;

function integer(flag: string, min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} must be an integer of at least ${min}, got "${value}"`);
    }
    return n;
  };
}

export const parsePositive = (flag: string): ((value: string) => number) => integer(flag, 1);
export const parseNonNegative = (flag: string): ((value: string) => number) => integer(flag, 0);

export function parseSize(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`--size must be a positive integer or "auto", got "${value}"`);
  return n;
}

/** `host:port` or `[v6]:port`; port 0 picks a free one (printed at start). */
export function parseMetrics(value: string): MetricsAddress {
  const address = parseHostPort(value, true);
  if (address === undefined) throw new InvalidArgumentError(`--metrics must be host:port (e.g. 127.0.0.1:9464), got "${value}"`);
  return address;
}

/** A module argument relative to cwd (or a file: URL) as a file: URL; it must exist. */
export function resolveModule(arg: string, cwd: string): string {
  let path: string;
  if (arg.startsWith('file:')) {
    try {
      path = fileURLToPath(arg);
    } catch {
      throw new UsageError(`module must be a path or a file: URL, got "${arg}"`);
    }
  } else {
    path = resolve(cwd, arg);
  }
  if (!existsSync(path)) throw new UsageError(`module ${arg} not found (looked for ${path})`);
  if (!statSync(path).isFile()) throw new UsageError(`module ${arg} is not a file (${path})`);
  return pathToFileURL(path).href;
}

/**
 * The largest --size taken without --allow-large-size, per kind, and why.
 * Past the CPU count, threads and processes only share the same cores, and
 * each costs memory: a V8 isolate (threads, ~10 MB and up) or a whole Node
 * process (~40 MB and up). Thousands of threads exhaust the heap and V8
 * aborts the process, which is no way to learn about a typo.
 */
export function sizeBound(kind: string, cpus = availableCpus()): { max: number; why: string } {
  if (kind === 'async') return { max: 10_000, why: 'each running task holds its input, its promise and whatever it awaits' };
  if (kind === 'process') return { max: Math.max(32, 4 * cpus), why: `each worker is a Node process (~40 MB and up), and past ${cpus} CPUs they only share the same cores` };
  return { max: Math.max(64, 8 * cpus), why: `each worker is a V8 isolate (~10 MB and up), and past ${cpus} CPUs they only share the same cores; thousands exhaust the heap` };
}

/** The directory `path` goes in must exist (a run does not create directories). */
function checkDirectory(flag: string, given: string, path: string): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UsageError(`${flag} ${given}: directory ${dir} does not exist; create it first`);
  }
  if (!st.isDirectory()) throw new UsageError(`${flag} ${given}: ${dir} is not a directory`);
}

export function toRunConfig(moduleArg: string, flags: RunFlags, cwd: string): RunConfig {
  const moduleUrl = resolveModule(moduleArg, cwd);
  const input = flags.input === '-' ? '-' : resolve(cwd, flags.input);
  const output = resolve(cwd, flags.output);
  const dlq = resolve(cwd, flags.dlq ?? `${flags.output}.dlq.jsonl`);
  const journal = `${output}.journal`;
  if (input !== '-') {
    if (!existsSync(input)) throw new UsageError(`input ${flags.input} not found`);
    if (input === output) throw new UsageError('--input and --output must be different files');
  }
  if (dlq === output || dlq === input) throw new UsageError('--dlq must differ from --input and --output');
  if (flags.task.length === 0) throw new UsageError('--task must be a task name');
  if ((flags.redis === undefined) !== (flags.redisQueue === undefined)) throw new UsageError('--redis and --redis-queue go together: a Redis URL and the queue that the `sluice serve` processes serve');
  checkDirectory('--output', flags.output, output);
  checkDirectory('--dlq', flags.dlq ?? `${flags.output}.dlq.jsonl`, dlq);
  // With --redis no worker runs here: --size only sizes the window.
  if (flags.size !== 'auto' && flags.allowLargeSize !== true && flags.redis === undefined) {
    const bound = sizeBound(flags.kind);
    if (flags.size > bound.max) {
      throw new UsageError(`--size ${flags.size} is more than ${bound.max} ${flags.kind} workers: ${bound.why}; for I/O-bound tasks use --kind async, or pass --allow-large-size if you mean it`);
    }
  }
  return {
    moduleUrl,
    task: flags.task,
    input,
    output,
    dlq,
    journal,
    kind: flags.kind,
    size: flags.size === 'auto' ? undefined : flags.size,
    queue: flags.queue,
    retries: flags.retries,
    retryDelayMs: flags.retryDelay,
    timeoutMs: flags.timeout,
    metrics: flags.metrics,
    dashboard: dashboardFlag(flags.dashboard, flags.dashboardShowData),
    ordered: flags.ordered === true,
    fresh: flags.fresh === true,
    progress: flags.progress,
    statusIntervalMs: flags.statusInterval,
    ...(flags.redis !== undefined && flags.redisQueue !== undefined ? { redis: { url: flags.redis, queue: flags.redisQueue } } : {}),
  };
}
