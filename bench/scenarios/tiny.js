// (1) Tiny tasks: the pool's own overhead, nothing else.
import { entries } from '../lib/entries.js';
import { closedLoop } from '../lib/measure.js';
import { open } from '../lib/pools.js';

export default {
  title: 'Tiny tasks (x => x + 1), closed loop, 1024 in flight',
  sweep: true,
  // Peers also run in their tuned variants (several tasks per worker at once), which are faster here.
  entries: (quick) =>
    quick
      ? ['sluice', 'sluice observed', 'sluice pipeline=1', 'piscina', 'piscina ctpw=16', 'tinypool', 'tinypool ctpw=16', 'workerpool', 'poolifier', 'raw-echo']
      : ['sluice', 'sluice observed', 'sluice pipeline=1', 'piscina', 'piscina ctpw=16', 'piscina FixedQueue ctpw=16', 'tinypool', 'tinypool ctpw=16', 'workerpool', 'poolifier', 'poolifier concurrency=16', 'raw-echo'],
  metrics: [{ key: 'opsPerSec', label: 'tasks/s', better: 'higher' }],
  async measure(id, { threads, quick }) {
    const e = entries[id];
    const pool = await open(e.lib, { ...e.config, threads });
    return closedLoop((i) => pool.run('inc', i), {
      inflight: 1024,
      warmupMs: quick ? 200 : 500,
      measureMs: quick ? 400 : 2000,
      check: (i, out) => out === i + 1,
    });
  },
};
