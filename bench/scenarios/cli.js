// (13) `sluice run` against the plain single-threaded loop a user could
// write (read → JSON.parse → task → JSON.stringify → write), on a trivial
// task, at 100k and 1M lines; and the ceiling: one thread that only splits
// and writes bytes. Each run is its own `node` process, as a user runs it;
// its peak RSS (all threads) is read at its exit.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now, MiB } from '../lib/measure.js';

const SIZES = [100_000, 1_000_000];
const dir = join(tmpdir(), 'sluice-bench-cli');
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const tasks = fileURLToPath(new URL('../workers/cli-tasks.js', import.meta.url));
const plain = fileURLToPath(new URL('../workers/plain-loop.js', import.meta.url));
const split = fileURLToPath(new URL('../workers/split-write.js', import.meta.url));
// Prints the process's peak RSS (KiB) and CPU time (µs, all threads) on stderr as it exits, whoever calls process.exit.
const PEAK = `data:text/javascript,${encodeURIComponent("import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.resourceUsage(); writeSync(2, '\\nPEAK_RSS_KB ' + u.maxRSS + ' CPU_US ' + (u.userCPUTime + u.systemCPUTime) + '\\n'); });")}`;

async function input(n) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `in-${n}.jsonl`);
  if (existsSync(path) && statSync(path).size > 0) return path;
  const tmp = `${path}.${process.pid}`;
  const ws = createWriteStream(tmp);
  let buf = '';
  for (let i = 1; i <= n; i++) {
    buf += `{"id":${i},"n":${i},"name":"record ${i}"}\n`;
    if (buf.length >= 1 << 16) {
      if (!ws.write(buf)) await once(ws, 'drain');
      buf = '';
    }
  }
  ws.end(buf);
  await once(ws, 'finish');
  renameSync(tmp, path);
  return path;
}

async function runOnce(args) {
  const child = spawn(process.execPath, ['--import', PEAK, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const t0 = now();
  const [code] = await once(child, 'close');
  const ms = now() - t0;
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${err.slice(-1000)}`);
  const m = /PEAK_RSS_KB (\d+) CPU_US (\d+)/.exec(err);
  return { ms, peakKb: m === null ? NaN : Number(m[1]), cpuUs: m === null ? NaN : Number(m[2]) };
}

async function countLines(path) {
  let n = 0;
  for await (const chunk of createReadStream(path)) {
    let i = -1;
    while ((i = chunk.indexOf(10, i + 1)) !== -1) n++;
  }
  return n;
}

export default {
  title: 'sluice run vs a plain single-threaded loop (read, JSON.parse, x.n * 2, JSON.stringify, write), 100k and 1M lines',
  sweep: true,
  entries: () => ['sluice-run', 'plain-loop', 'split-write'],
  metrics: [
    { key: 'rate1M', label: 'lines/s 1M', better: 'higher' },
    { key: 'rate100k', label: 'lines/s 100k', better: 'higher' },
    { key: 'rss100kMB', label: 'peak RSS 100k MB', better: 'lower', digits: 0 },
    { key: 'rss1MMB', label: 'peak RSS 1M MB', better: 'lower', digits: 0 },
    { key: 'rssRatio', label: 'RSS 1M/100k', better: 'lower', digits: 2 },
    // CPU seconds of the whole process (all its threads) for 1M lines: what the run costs, whatever the machine's load.
    { key: 'cpu1M', label: 'CPU s 1M', better: 'lower', digits: 2 },
  ],
  async measure(id, { threads }) {
    const out = {};
    for (const n of SIZES) {
      const inPath = await input(n);
      const outPath = join(dir, `out-${id}-${process.pid}.jsonl`);
      let args;
      if (id === 'sluice-run') args = [cli, 'run', tasks, '-t', 'double', '-i', inPath, '-o', outPath, '--size', String(threads), '--progress', 'none', '--fresh'];
      else if (id === 'plain-loop') args = [plain, inPath, outPath];
      else args = [split, inPath, outPath];
      const { ms, peakKb, cpuUs } = await runOnce(args);
      const lines = await countLines(outPath);
      for (const f of [outPath, `${outPath}.journal`, `${outPath}.dlq.jsonl`]) rmSync(f, { force: true });
      if (lines !== n) throw new Error(`${id}: ${lines} output lines for ${n} input lines`);
      const key = n === 100_000 ? '100k' : '1M';
      out[`rate${key}`] = (n / ms) * 1000;
      out[`rss${key}MB`] = (peakKb * 1024) / MiB;
      out[`cpu${key}`] = cpuUs / 1e6;
    }
    out.rssRatio = out.rss1MMB / out.rss100kMB;
    return out;
  },
};
