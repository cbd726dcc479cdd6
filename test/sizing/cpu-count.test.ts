import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cgroupCpuLimit, cpuCount, parseCfs, parseCpuMax, parseProcCgroup } from '../../src/sizing/cpu-count.js';
import { resolvePoolOptions } from '../../src/config/validate.js';

function root(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cgroup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('container-aware CPU count', () => {
  test('parses cgroup v2 cpu.max', () => {
    assert.equal(parseCpuMax('200000 100000\n'), 2);
    assert.equal(parseCpuMax('150000 100000'), 1.5);
    assert.equal(parseCpuMax('50000'), 0.5, 'period defaults to 100000');
    assert.equal(parseCpuMax('max 100000\n'), undefined);
    assert.equal(parseCpuMax(''), undefined);
    assert.equal(parseCpuMax('garbage 100000'), undefined);
  });

  test('parses cgroup v1 cfs quota and period', () => {
    assert.equal(parseCfs('400000\n', '100000\n'), 4);
    assert.equal(parseCfs('-1\n', '100000\n'), undefined, '-1: no quota');
    assert.equal(parseCfs('100000', '0'), undefined);
  });

  test('a 2-CPU container on a 64-core host sizes for 2 (v2)', (t) => {
    const dir = root(t, { 'cpu.max': '200000 100000\n' });
    assert.equal(cgroupCpuLimit(dir), 2);
    assert.equal(cpuCount(dir, 64), 2);
  });

  test('cgroup v1 layouts: cpu/, cpu,cpuacct/ and files at the root', (t) => {
    assert.equal(cpuCount(root(t, { 'cpu/cpu.cfs_quota_us': '300000', 'cpu/cpu.cfs_period_us': '100000' }), 64), 3);
    assert.equal(cpuCount(root(t, { 'cpu,cpuacct/cpu.cfs_quota_us': '100000', 'cpu,cpuacct/cpu.cfs_period_us': '100000' }), 64), 1);
    assert.equal(cpuCount(root(t, { 'cpu.cfs_quota_us': '-1', 'cpu.cfs_period_us': '100000' }), 64), 64, 'unlimited');
  });

  test('fractions round down, never below 1; a quota above the cores changes nothing; no cgroup files: the host count', (t) => {
    assert.equal(cpuCount(root(t, { 'cpu.max': '150000 100000' }), 64), 1);
    assert.equal(cpuCount(root(t, { 'cpu.max': '20000 100000' }), 64), 1);
    assert.equal(cpuCount(root(t, { 'cpu.max': '1600000 100000' }), 8), 8);
    assert.equal(cpuCount(root(t, { 'cpu.max': 'max 100000' }), 8), 8);
    assert.equal(cpuCount(root(t, {}), 8), 8);
    assert.equal(cpuCount(join(tmpdir(), 'sluice-no-such-cgroup-dir'), 5), 5);
  });

  test('finds the CPU controller in /proc/self/cgroup: a v1 hierarchy holding `cpu`, else the v2 line', () => {
    assert.deepEqual(parseProcCgroup('0::/system.slice/app.service\n'), { version: 2, mount: '', path: '/system.slice/app.service' });
    assert.deepEqual(parseProcCgroup('4:memory:/x\n2:cpu,cpuacct:/docker/abc\n0::/\n'), { version: 1, mount: 'cpu,cpuacct', path: '/docker/abc' });
    assert.deepEqual(parseProcCgroup('9:name=systemd:/\n2:cpuacct:/\n1:cpu:/\n0::/\n'), { version: 1, mount: 'cpu', path: '/' }, 'hybrid: cpu on v1');
    assert.equal(parseProcCgroup('garbage\n'), undefined);
  });

  test('v2: the quota of the process\'s own cgroup counts, not only the root\'s (a systemd service with CPUQuota=)', (t) => {
    const dir = root(t, { 'cgroup.controllers': 'cpu memory', 'cpu.max': 'max 100000', 'system.slice/app.service/cpu.max': '300000 100000' });
    assert.equal(cgroupCpuLimit(dir, '0::/system.slice/app.service\n'), 3);
    assert.equal(cpuCount(dir, 64, '0::/system.slice/app.service\n'), 3);
    assert.equal(cgroupCpuLimit(dir), undefined, 'reading the root alone misses it');
  });

  test('the smallest quota on the way up to the root applies', (t) => {
    const dir = root(t, { 'cgroup.controllers': 'cpu', 'kubepods/cpu.max': '200000 100000', 'kubepods/pod1/cpu.max': '400000 100000', 'kubepods/pod1/c1/cpu.max': 'max 100000' });
    assert.equal(cpuCount(dir, 64, '0::/kubepods/pod1/c1\n'), 2);
    const v1 = root(t, { 'cpu/cpu.cfs_period_us': '100000', 'cpu/cpu.cfs_quota_us': '-1', 'cpu/batch/cpu.cfs_period_us': '100000', 'cpu/batch/cpu.cfs_quota_us': '100000' });
    assert.equal(cpuCount(v1, 64, '1:cpu:/batch\n0::/\n'), 1);
  });

  test('v1 in a container without its own cgroup namespace: the host-side path is not mounted, the mount root holds the quota', (t) => {
    const dir = root(t, { 'cpu,cpuacct/cpu.cfs_quota_us': '200000', 'cpu,cpuacct/cpu.cfs_period_us': '100000' });
    assert.equal(cpuCount(dir, 64, '3:cpu,cpuacct:/docker/0123abcd\n'), 2);
  });

  test('a /proc/self/cgroup whose hierarchy is not mounted under the root falls back to the root\'s files', (t) => {
    const dir = root(t, { 'cpu.max': '200000 100000' });
    assert.equal(cpuCount(dir, 64, '1:cpu:/somewhere\n'), 2);
  });

  test('a real process in a cgroup of its own with a 1-CPU quota counts 1 CPU', (t) => {
    // As root, on a machine whose CPU controller can be written (CI's): a
    // child cgroup with a quota, and a Node process started inside it.
    const self = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
    if (availableParallelism() < 2) return t.skip('one CPU: a 1-CPU quota changes nothing');
    if (self === undefined || process.getuid?.() !== 0) return t.skip('no cgroup, or not root');
    const dir = join('/sys/fs/cgroup', self.mount, self.path, `sluice-test-${process.pid}`);
    try {
      mkdirSync(dir);
    } catch (err) {
      return t.skip(`cannot create a cgroup: ${(err as Error).message}`);
    }
    t.after(() => rmdirSync(dir));
    try {
      if (self.version === 2) writeFileSync(join(dir, 'cpu.max'), '100000 100000');
      else {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), '100000');
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), '100000');
      }
    } catch (err) {
      return t.skip(`cannot set a quota: ${(err as Error).message}`);
    }
    const module = new URL('../../src/sizing/cpu-count.js', import.meta.url).href;
    const script = `import(${JSON.stringify(module)}).then((m) => console.log(m.cpuCount()))`;
    const r = spawnSync('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$1" --input-type=module -e "$2"', dir, process.execPath, script], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0 && /cgroup\.procs/.test(r.stderr)) return t.skip(`cannot move a process into the cgroup: ${r.stderr.trim()}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1');
  });

  test('the default size is the container-aware count', () => {
    const o = resolvePoolOptions({ module: '/x/tasks.js' });
    assert.equal(o.max, cpuCount());
    assert.equal(o.min, cpuCount());
    assert.equal(o.cpus, cpuCount());
    assert.equal(resolvePoolOptions({ module: '/x/tasks.js', size: { min: 1 } }).max, cpuCount());
  });

  test('size.scaler is validated', () => {
    assert.equal(resolvePoolOptions({ module: '/x/tasks.js', size: { max: 4 } }).scaler, undefined);
    assert.ok(resolvePoolOptions({ module: '/x/tasks.js', size: { max: 4, scaler: 'hysteresis' } }).scaler !== undefined);
    assert.ok(resolvePoolOptions({ module: '/x/tasks.js', size: { max: 4, scaler: { upAfterMs: 100 } } }).scaler !== undefined);
    const custom = { sample: () => 3 };
    assert.equal(resolvePoolOptions({ module: '/x/tasks.js', size: { max: 4, scaler: custom } }).scaler, custom);
    assert.throws(() => resolvePoolOptions({ module: '/x/tasks.js', size: { max: 4, scaler: 'fast' as never } }), /size\.scaler must be/);
    assert.throws(() => resolvePoolOptions({ module: '/x/tasks.js', size: { max: 4, scalr: 'hysteresis' } as never }), /size\.scalr/);
  });
});
