/**
 * Validation of the pool controls: the start-rate limit and process
 * workers' placement (niceness, CPU affinity). Same template as every other
 * option: the option, what was expected, what was got.
 */

import { accessSync, constants, readFileSync } from 'node:fs';
import { cpus as osCpus } from 'node:os';
import { delimiter, join } from 'node:path';
import { InvalidOptionError } from '../api/errors.js';
import type { PoolKind } from '../api/options.js';
import { known, plainObject, positive, positiveInt } from './validate-helpers.js';

export interface RateLimit {
  tasks: number;
  perMs: number;
}

export interface ResolvedRateLimit extends RateLimit {
  perName: Map<string, RateLimit>;
}

export interface Placement {
  /** Niceness added to each process worker (0: leave it). */
  nice: number;
  /** The CPUs each worker is pinned to, by worker id; undefined: not pinned. */
  cpusFor: ((workerId: number) => readonly number[]) | undefined;
  /** The `taskset` binary that pins them. */
  taskset: string | undefined;
}

function rate(option: string, v: unknown): RateLimit {
  const o = plainObject(option, v);
  known(option, o, option === 'rateLimit' ? ['tasks', 'perMs', 'perName'] : ['tasks', 'perMs']);
  const perMs = positive(`${option}.perMs`, o.perMs, 'milliseconds');
  if (perMs === Infinity) throw new InvalidOptionError(`${option}.perMs`, 'a finite positive number of milliseconds', perMs);
  return { tasks: positiveInt(`${option}.tasks`, o.tasks), perMs };
}

export function resolveRateLimit(v: unknown): ResolvedRateLimit | undefined {
  if (v === undefined) return undefined;
  const pool = rate('rateLimit', v);
  const perName = new Map<string, RateLimit>();
  const names = (v as { perName?: unknown }).perName;
  if (names !== undefined) {
    for (const [name, r] of Object.entries(plainObject('rateLimit.perName', names))) perName.set(name, rate(`rateLimit.perName.${name}`, r));
  }
  return { ...pool, perName };
}

/** The CPUs this process may run on (Linux: `Cpus_allowed_list`; elsewhere every CPU). */
function allowedCpus(): number[] {
  try {
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (line !== undefined) return parseCpuList(line);
  } catch {
    // Not Linux: fall through.
  }
  return osCpus().map((_, i) => i);
}

/** `0-2,5` → [0, 1, 2, 5]. */
function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

function findTaskset(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'taskset');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function resolvePlacement(v: unknown, kind: PoolKind): Placement | undefined {
  if (v === undefined) return undefined;
  const o = plainObject('worker', v);
  known('worker', o, ['nice', 'cpus']);
  if (kind !== 'process') {
    throw new InvalidOptionError('worker', `absent for kind '${kind}' (${kind === 'thread' ? "threads share their process's priority and CPU affinity; Node offers no per-thread control" : 'its tasks run in this process'}; use kind 'process')`, v);
  }
  let nice = 0;
  if (o.nice !== undefined) {
    if (typeof o.nice !== 'number' || !Number.isInteger(o.nice) || o.nice < 0 || o.nice > 19) throw new InvalidOptionError('worker.nice', 'an integer from 0 to 19 (added niceness: lower priority)', o.nice);
    nice = o.nice;
  }
  if (o.cpus === undefined) return { nice, cpusFor: undefined, taskset: undefined };
  const allowed = allowedCpus();
  let cpusFor: (workerId: number) => readonly number[];
  if (o.cpus === 'spread') {
    cpusFor = (id) => [allowed[(id - 1) % allowed.length] as number];
  } else {
    if (!Array.isArray(o.cpus) || o.cpus.length === 0) throw new InvalidOptionError('worker.cpus', "'spread' or a non-empty array of CPU numbers", o.cpus);
    const list: number[] = [];
    for (const c of o.cpus as unknown[]) {
      if (typeof c !== 'number' || !allowed.includes(c)) throw new InvalidOptionError('worker.cpus', `CPUs this process may use (${allowed.join(', ')})`, c);
      list.push(c);
    }
    cpusFor = () => list;
  }
  const taskset = findTaskset();
  if (taskset === undefined) throw new InvalidOptionError('worker.cpus', 'taskset (util-linux) on PATH, which pins process workers to CPUs', 'no taskset found');
  return { nice, cpusFor, taskset };
}
