import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cgroupCpuLimit, cpuCount, parseCfs, parseCpuMax } from '../../src/sizing/cpu-count.js';
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
