// (2) Burst: N tasks submitted in one synchronous loop, then awaited.
import { entries } from '../lib/entries.js';
import { gc, MiB, now, peakRss, rss } from '../lib/measure.js';
import { open } from '../lib/pools.js';

export default {
  title: 'Burst: 100k tasks submitted at once (quick: 20k), after a warm-up burst of a tenth',
  sweep: true,
  entries: (quick) =>
    quick
      ? ['sluice', 'piscina', 'piscina ctpw=16', 'tinypool ctpw=16', 'workerpool', 'poolifier']
      : ['sluice', 'piscina', 'piscina ctpw=16', 'piscina FixedQueue ctpw=16', 'tinypool', 'tinypool ctpw=16', 'workerpool', 'poolifier', 'poolifier concurrency=16'],
  metrics: [
    { key: 'opsPerSec', label: 'tasks/s', better: 'higher' },
    { key: 'peakRssMB', label: 'peak RSS MB', better: 'lower' },
  ],
  async measure(id, { threads, quick }) {
    const n = quick ? 20_000 : 100_000;
    const e = entries[id];
    const pool = await open(e.lib, { ...e.config, threads, capacity: n });
    // One smaller burst first: the measured one then shows the steady dispatch
    // path rather than the first compilation of each library's queueing code.
    const warm = [];
    for (let i = 0; i < n / 10; i++) warm.push(pool.run('inc', i));
    await Promise.all(warm);
    gc();
    const before = rss();
    const t0 = now();
    const all = new Array(n);
    for (let i = 0; i < n; i++) all[i] = pool.run('inc', i);
    const out = await Promise.all(all);
    const ms = now() - t0;
    for (let i = 0; i < n; i++) if (out[i] !== i + 1) throw new Error(`wrong output for task ${i}`);
    return { opsPerSec: (n / ms) * 1000, ms, peakRssMB: peakRss() / MiB, startRssMB: before / MiB };
  },
};
