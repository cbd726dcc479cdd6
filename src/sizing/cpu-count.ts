/**
 * How many CPUs this process may use: `os.availableParallelism()` (the host's
 * cores, or the affinity mask) lowered to the cgroup CPU quota that applies
 * to this process, if any.
 *
 * Why sluice still reads the quota itself: from Node 22 (libuv 1.49 and up)
 * `availableParallelism()` honours a cgroup v2 quota of one CPU or more, but
 * Node 20 honours none, libuv finds no cgroup v1 quota (it looks for a
 * "cpu," controller line and joins the host-side path to the mount), and it
 * ignores a quota under one CPU, so a container limited to half a CPU on a
 * 64-core host would still size for 64. Where both see a quota, they agree:
 * each takes the whole CPUs of the smallest quota on the way from the
 * process's cgroup up to the root.
 *
 * The quota that applies is the smallest one on the path from the process's
 * own cgroup (`/proc/self/cgroup`) up to the root of the hierarchy: a systemd
 * service with `CPUQuota=` or a container sharing the host's cgroup
 * namespace has its quota below the root, which reading only the root misses.
 */

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, posix } from 'node:path';

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

/** Where the process's CPU controller is, from the text of `/proc/self/cgroup`. */
export interface CpuCgroup {
  /** 1 or 2. */
  version: 1 | 2;
  /** For v1, the controller's folder under the mount root ("cpu,cpuacct", "cpu"); "" for v2. */
  mount: string;
  /** The process's cgroup in that hierarchy ("/" at its root). */
  path: string;
}

/**
 * Parses `/proc/self/cgroup` ("<id>:<controllers>:<path>" per line). A v1
 * hierarchy that holds the `cpu` controller wins (on a hybrid host the v2
 * line is there too, without the controller); else the v2 line ("0::<path>").
 */
export function parseProcCgroup(text: string): CpuCgroup | undefined {
  let v2: CpuCgroup | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line.trim());
    if (m === null) continue;
    const [, id, controllers = '', path = '/'] = m;
    if (controllers.split(',').includes('cpu')) return { version: 1, mount: controllers, path };
    if (id === '0' && controllers === '') v2 = { version: 2, mount: '', path };
  }
  return v2;
}

/** The folders from `path` up to the root, deepest first: "/a/b" → ["/a/b", "/a", "/"]. */
function upToRoot(path: string): string[] {
  const dirs: string[] = [];
  for (let p = posix.normalize(path); ; p = posix.dirname(p)) {
    dirs.push(p);
    if (p === '/' || p === '.') return dirs;
  }
}

/** The quota of one cgroup folder: v2 `cpu.max`, or the v1 cfs pair. */
function quotaIn(dir: string, version: 1 | 2): number | undefined {
  if (version === 2) {
    const max = read(join(dir, 'cpu.max'));
    return max === undefined ? undefined : parseCpuMax(max);
  }
  const quota = read(join(dir, 'cpu.cfs_quota_us'));
  const period = read(join(dir, 'cpu.cfs_period_us'));
  return quota === undefined || period === undefined ? undefined : parseCfs(quota, period);
}

/**
 * The smallest quota from the process's cgroup up to the hierarchy's root
 * (folders that are not there are skipped: the host-side path of a container
 * without its own cgroup namespace), or null when the hierarchy is not
 * mounted under `root`.
 */
function ownCgroupLimit(root: string, self: CpuCgroup): number | undefined | null {
  const mounts = self.version === 2 ? [''] : [self.mount, 'cpu'];
  for (const mount of mounts) {
    if (read(join(root, mount, self.version === 2 ? 'cgroup.controllers' : 'cpu.cfs_period_us')) === undefined) continue;
    let limit: number | undefined;
    for (const dir of upToRoot(self.path)) {
      const q = quotaIn(join(root, mount, dir), self.version);
      if (q !== undefined && (limit === undefined || q < limit)) limit = q;
    }
    return limit;
  }
  return null;
}

/** The layout probe for a root with no `/proc/self/cgroup` to go by: v2 `root/cpu.max`, then v1 `root/cpu/`, `root/cpu,cpuacct/` or the files in `root`. */
function rootLimit(root: string): number | undefined {
  const v2 = read(join(root, 'cpu.max'));
  if (v2 !== undefined) return parseCpuMax(v2);
  for (const dir of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu', '.']) {
    const quota = read(join(root, dir, 'cpu.cfs_quota_us'));
    const period = read(join(root, dir, 'cpu.cfs_period_us'));
    if (quota !== undefined && period !== undefined) return parseCfs(quota, period);
  }
  return undefined;
}

const CGROUP_MOUNT = '/sys/fs/cgroup';

/**
 * The cgroup CPU limit of this process, in CPUs (fractional), or undefined
 * when there is none. `root` is the cgroup filesystem's mount point; `self`
 * the text of `/proc/self/cgroup`, read when `root` is the real mount (a
 * test passing its own root passes its own `self`, or none: then the limit
 * is the one found at `root` itself, v2 first).
 */
export function cgroupCpuLimit(root = CGROUP_MOUNT, self: string | undefined = root === CGROUP_MOUNT ? read('/proc/self/cgroup') : undefined): number | undefined {
  const own = self === undefined ? undefined : parseProcCgroup(self);
  const limit = own === undefined ? null : ownCgroupLimit(root, own);
  return limit === null ? rootLimit(root) : limit;
}

/**
 * CPUs to size for: `available` lowered to the cgroup quota when one is set.
 * A fractional quota rounds down (1.5 CPUs run one busy worker without
 * throttling, two with), never below 1.
 */
export function cpuCount(root = CGROUP_MOUNT, available = availableParallelism(), self?: string): number {
  const limit = self === undefined ? cgroupCpuLimit(root) : cgroupCpuLimit(root, self);
  if (limit === undefined) return available;
  return Math.max(1, Math.min(available, Math.floor(limit)));
}

let cached: number | undefined;

/** `cpuCount()` of this process, read once (a quota rarely changes under a running process). */
export function availableCpus(): number {
  return (cached ??= cpuCount());
}
