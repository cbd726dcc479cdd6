import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { taskPool } from '../helpers/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('TypeScript task modules work when the parent runs under a TS loader (node --import tsx)', () => {
  // The script and the task module are TypeScript source files, run untranspiled.
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/run-typed.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { shape: 'square', area: 9 });
});

test('transfer: [arrayBuffer] moves the buffer (the source is detached) instead of copying', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const buf = new ArrayBuffer(1 << 20);
    const n = await pool.run('byteLength', buf, { transfer: [buf] });
    assert.equal(n, 1 << 20);
    assert.equal(buf.byteLength, 0, 'detached after the transfer');
    const kept = new ArrayBuffer(16);
    await pool.run('byteLength', kept);
    assert.equal(kept.byteLength, 16, 'without transfer it is copied');
  } finally {
    await pool.close();
  }
});

test('a task can transfer its result back with ctx.transfer', async () => {
  const pool = taskPool({ size: 1 });
  try {
    const buf = await pool.run('transferBack', 4096);
    assert.ok(buf instanceof ArrayBuffer);
    assert.equal(buf.byteLength, 4096);
  } finally {
    await pool.close();
  }
});

test('SharedArrayBuffer inputs are shared, not copied: the worker writes in place', async () => {
  const pool = taskPool({ size: 2 });
  try {
    const sab = new SharedArrayBuffer(4 * 1024);
    const n = await pool.run('fillShared', { sab, value: 7 });
    assert.equal(n, 1024);
    assert.ok(new Int32Array(sab).every((v) => v === 7));
  } finally {
    await pool.close();
  }
});
