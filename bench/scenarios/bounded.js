// (9) A million tasks offered through a bounded queue with awaitable
// backpressure: resident memory must not grow with the number of tasks.
import { gc, MiB, now, peakRss, rss } from '../lib/measure.js';
import { open } from '../lib/pools.js';

export default {
  title: '1M tasks (quick: 200k) through a bounded queue (capacity 1000, await pool.ready())',
  sweep: false,
  entries: () => ['sluice'],
  metrics: [
    { key: 'growthMB', label: 'peak-start MB', better: 'lower', digits: 1 },
    { key: 'startRssMB', label: 'start RSS MB', better: 'lower', digits: 1 },
    { key: 'peakRssMB', label: 'peak RSS MB', better: 'lower', digits: 1 },
    { key: 'opsPerSec', label: 'tasks/s', better: 'higher' },
  ],
  async measure(_id, { quick }) {
    const n = quick ? 200_000 : 1_000_000;
    const pool = await open('sluice', { threads: 2, capacity: 1000 });
    gc();
    const start = rss();
    const startPeak = peakRss();
    const checkpoints = [];
    let done = 0;
    let bad = 0;
    let finish;
    const finished = new Promise((r) => (finish = r));
    const t0 = now();
    for (let i = 0; i < n; i++) {
      await pool.pool.ready();
      pool.pool.run('inc', i).then((out) => {
        if (out !== i + 1) bad++;
        if (++done === n) finish();
      }, () => bad++);
      if ((i + 1) % (n / 10) === 0) checkpoints.push(Math.round(rss() / MiB));
    }
    await finished;
    const ms = now() - t0;
    if (bad > 0) throw new Error(`${bad} wrong outputs`);
    // The process's lifetime peak; if start-up was the peak, growth reads 0.
    const peak = Math.max(peakRss(), startPeak);
    return { growthMB: (peak - Math.max(start, startPeak)) / MiB, startRssMB: start / MiB, peakRssMB: peak / MiB, endRssMB: rss() / MiB, checkpointsMB: checkpoints, opsPerSec: (n / ms) * 1000 };
  },
};
