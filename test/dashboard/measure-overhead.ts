/**
 * What an open dashboard costs a pool: tiny-task throughput (x => x + 1,
 * 1024 in flight, a thread pool of 2) without a dashboard, with one and a
 * browser-like reader of its event stream, and with one and a reader that
 * never reads (a stuck browser). Not a test (timing never decides a test):
 * figures for docs/performance.md, "Dashboard".
 *
 *   npm run pretest && node .test-build/test/dashboard/measure-overhead.js [--rounds 7] [--seconds 3]
 *
 * Each measurement runs in a fresh node process; the modes are interleaved
 * over rounds (A B C, then C B A, ...) so drift in machine load spreads over
 * all of them; the table shows the median of the rounds.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createPool } from '../../src/index.js';
import { serveDashboard } from '../../src/observability/dashboard/index.js';
import type * as Tasks from '../fixtures/tasks.js';

const MODES = ['none', 'dashboard+reader', 'dashboard+stuck-reader'] as const;
type Mode = (typeof MODES)[number];

async function child(mode: Mode, seconds: number): Promise<void> {
  const pool = createPool<typeof Tasks>({ module: new URL('../fixtures/tasks.js', import.meta.url), size: 2 });
  await pool.start();
  let stopReader = (): void => undefined;
  let frames = 0;
  if (mode !== 'none') {
    const d = await serveDashboard(pool);
    if (mode === 'dashboard+reader') {
      const res = await fetch(d.url.replace('/?', '/events?'));
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      void (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          frames += new TextDecoder().decode(value).split('event: frame').length - 1;
        }
      })();
      stopReader = () => void reader.cancel();
    } else {
      const socket = connect(d.port, '127.0.0.1');
      socket.write(`GET /events?token=${d.token} HTTP/1.1\r\nHost: x\r\n\r\n`);
      socket.pause();
      stopReader = () => socket.destroy();
    }
  }
  let running = true;
  let done = 0;
  const launch = (): void => {
    pool.run('inc', 1).then(
      () => {
        done++;
        if (running) launch();
      },
      (err: unknown) => {
        throw err;
      },
    );
  };
  for (let i = 0; i < 1024; i++) launch();
  // Warm-up, then the timed window.
  await new Promise((r) => setTimeout(r, 1000));
  const start = done;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const tasksPerSecond = (done - start) / ((performance.now() - t0) / 1000);
  running = false;
  stopReader();
  process.stdout.write(JSON.stringify({ mode, tasksPerSecond, frames }) + '\n');
  await pool.terminate();
  process.exit(0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function parent(rounds: number, seconds: number): void {
  const self = fileURLToPath(import.meta.url);
  const results = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) {
      const out = spawnSync(process.execPath, [self, 'child', mode, String(seconds)], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
      const line = out.stdout.trim().split('\n').at(-1) ?? '';
      const { tasksPerSecond } = JSON.parse(line) as { tasksPerSecond: number };
      results.get(mode)?.push(tasksPerSecond);
      process.stderr.write(`round ${r + 1} ${mode}: ${Math.round(tasksPerSecond).toLocaleString('en-US')} tasks/s\n`);
    }
  }
  const base = median(results.get('none') ?? []);
  console.log(`| mode | tasks/s (median of ${rounds}) | vs none |`);
  console.log('|---|---:|---:|');
  for (const mode of MODES) {
    const m = median(results.get(mode) ?? []);
    console.log(`| ${mode} | ${Math.round(m).toLocaleString('en-US')} | ${(m / base).toFixed(3)} |`);
  }
}

const args = process.argv.slice(2);
if (args[0] === 'child') {
  await child(args[1] as Mode, Number(args[2]));
} else {
  const flag = (name: string, fallback: number): number => {
    const i = args.indexOf(name);
    return i === -1 ? fallback : Number(args[i + 1]);
  };
  parent(flag('--rounds', 7), flag('--seconds', 3));
}
