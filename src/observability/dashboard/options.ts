/** The options of `serveDashboard`, each with its default, and their checks. */

import { InvalidOptionError } from '../../api/errors.js';
import type { JobProgress } from './frame.js';

export interface DashboardOptions {
  /**
   * Port to listen on; 0 picks a free one (read it from `url`).
   * @default 0
   */
  port?: number;
  /**
   * Address to bind. Anything but loopback is reachable from the network,
   * where the token in the URL is the only guard (`exposed` is then true).
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The secret every request must carry as `?token=`.
   * @default 24 random bytes, base64url
   */
  token?: string;
  /**
   * How often the page gets a frame, in ms.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * Points the charts keep (at `intervalMs` each: 300 is five minutes).
   * @default 300
   */
  historySize?: number;
  /**
   * Show task inputs in the dead-letter table. Off, the page shows code,
   * message and where the task came from, never its input or output.
   * @default false
   */
  showData?: boolean;
  /**
   * The progress of a job running over the pool (lines done, total, rate,
   * failures), read once per frame: `sluice run` passes its own.
   */
  job?: () => JobProgress;
  /**
   * The page's title.
   * @default 'sluice'
   */
  title?: string;
  /**
   * Browsers (event streams) served at once; more get 503.
   * @default 16
   */
  maxClients?: number;
}

export interface ResolvedDashboardOptions {
  port: number;
  host: string;
  token: string | undefined;
  intervalMs: number;
  historySize: number;
  showData: boolean;
  job: (() => JobProgress) | undefined;
  title: string;
  maxClients: number;
}

function int(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new InvalidOptionError(name, `an integer from ${min} to ${max}`, value);
  return value;
}

export function resolveDashboardOptions(options: DashboardOptions | undefined): ResolvedDashboardOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new InvalidOptionError('options', 'an object', o);
  if (o.host !== undefined && (typeof o.host !== 'string' || o.host.length === 0)) throw new InvalidOptionError('host', 'a non-empty string', o.host);
  if (o.token !== undefined && (typeof o.token !== 'string' || !/^[A-Za-z0-9_-]{16,}$/.test(o.token))) throw new InvalidOptionError('token', 'at least 16 characters of A-Z, a-z, 0-9, _ or -', o.token);
  if (o.showData !== undefined && typeof o.showData !== 'boolean') throw new InvalidOptionError('showData', 'a boolean', o.showData);
  if (o.job !== undefined && typeof o.job !== 'function') throw new InvalidOptionError('job', 'a function returning { done, total, rate, failed }', o.job);
  if (o.title !== undefined && typeof o.title !== 'string') throw new InvalidOptionError('title', 'a string', o.title);
  return {
    port: int('port', o.port, 0, 65535, 0),
    host: o.host ?? '127.0.0.1',
    token: o.token,
    intervalMs: int('intervalMs', o.intervalMs, 50, 60_000, 1000),
    historySize: int('historySize', o.historySize, 2, 10_000, 300),
    showData: o.showData ?? false,
    job: o.job,
    title: o.title ?? 'sluice',
    maxClients: int('maxClients', o.maxClients, 1, 1000, 16),
  };
}

/** Loopback only: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}
