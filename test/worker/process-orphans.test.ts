/**
 * Process workers never outlive their pool or their parent: not after
 * close() or terminate(), and not when the parent is killed (SIGTERM,
 * SIGINT, SIGKILL), even while a worker is stuck in a synchronous loop.
 * Worker pids are found through /proc (Linux).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createPool } from '../../src/index.js';
import { eventually } from '../helpers/index.js';

const HOST = new URL('../fixtures/pool-host.js', import.meta.url);
const FIXTURE = new URL('../fixtures/kinds.js', import.meta.url);
const linux = process.platform === 'linux';

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('process workers leave nothing behind', { skip: !linux && 'needs /proc' }, () => {
  test('after close() and terminate()', async () => {
    const pool = createPool<typeof import('../fixtures/kinds.js')>({ kind: 'process', module: FIXTURE, size: 1 });
    const a = await pool.run('pid', undefined);
    await pool.close();
    assert.equal(alive(a), false);
    const pool2 = createPool<typeof import('../fixtures/kinds.js')>({ kind: 'process', module: FIXTURE, size: 1 });
    const b = await pool2.run('pid', undefined);
    void pool2.run('spin', undefined).catch(() => undefined);
    await pool2.terminate();
    assert.equal(alive(b), false);
  });

  for (const [mode, signal] of [
    ['idle', 'SIGKILL'],
    ['idle', 'SIGTERM'],
    ['idle', 'SIGINT'],
    ['spin', 'SIGKILL'],
  ] as const) {
    test(`when the parent gets ${signal} (workers ${mode})`, async () => {
      const host = spawn(process.execPath, [HOST.pathname, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines = createInterface({ input: host.stdout });
      await new Promise<void>((resolve, reject) => {
        lines.on('line', (l) => l === 'ready' && resolve());
        host.once('exit', (code) => reject(new Error(`host exited early with ${String(code)}`)));
      });
      const pids = childrenOf(host.pid as number);
      assert.equal(pids.length, 2, `expected 2 workers, found ${pids.join(', ')}`);
      const exited = new Promise((r) => host.once('exit', r));
      host.kill(signal);
      await exited;
      await eventually(() => pids.every((p) => !alive(p)), `workers ${pids.join(', ')} gone`);
    });
  }
});
