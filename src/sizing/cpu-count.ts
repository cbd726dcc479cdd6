/**
 * How many CPUs this process may use. `os.availableParallelism()` counts the
 * host's cores (or the affinity mask), not a container's CPU quota: a
 * container limited to 2 CPUs on a 64-core host would size its pool for 64
 * and spend its quota context-switching. So the count is lowered by a cgroup
 * CPU quota when one is set (v2 `cpu.max`, v1 `cpu.cfs_quota_us` /
 * `cpu.cfs_period_us`).
 */

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/**
 * CPUs allowed by a cgroup v2 `cpu.max` file ("<quota> <period>" or
 * "max <period>"): quota / period, or undefined when unlimited or unreadable.
 */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period = '100000'] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  return ratio(quota, period);
}

/** CPUs allowed by cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`; a quota of -1 means unlimited. */
export function parseCfs(quotaText: string, periodText: string): number | undefined {
  return ratio(quotaText.trim(), periodText.trim());
}

function ratio(quota: string, period: string): number | undefined {
  if (!/^\d+$/.test(quota) || !/^\d+$/.test(period)) return undefined; // "-1", garbage
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The cgroup CPU limit found under `root` (the cgroup filesystem's mount
 * point), or undefined when there is none. v2 first (`root/cpu.max`), then
 * v1 (`root/cpu/` or `root/cpu,cpuacct/`, or the files directly in `root`).
 */
export function cgroupCpuLimit(root = '/sys/fs/cgroup'): number | undefined {
  const v2 = read(join(root, 'cpu.max'));
  if (v2 !== undefined) return parseCpuMax(v2);
  for (const dir of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu', '.']) {
    const quota = read(join(root, dir, 'cpu.cfs_quota_us'));
    const period = read(join(root, dir, 'cpu.cfs_period_us'));
    if (quota !== undefined && period !== undefined) return parseCfs(quota, period);
  }
  return undefined;
}

/**
 * CPUs to size for: `available` lowered to a cgroup quota when one is set.
 * A fractional quota rounds down (1.5 CPUs run one busy worker without
 * throttling, two with), never below 1.
 */
export function cpuCount(root = '/sys/fs/cgroup', available = availableParallelism()): number {
  const limit = cgroupCpuLimit(root);
  if (limit === undefined) return available;
  return Math.max(1, Math.min(available, Math.floor(limit)));
}

let cached: number | undefined;

/** `cpuCount()` of this process, read once (a quota rarely changes under a running process). */
export function availableCpus(): number {
  return (cached ??= cpuCount());
}
