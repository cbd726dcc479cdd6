// (5) Latency under a fixed open-loop arrival rate.
import { entries, THREAD_PEERS } from '../lib/entries.js';
import { openLoop } from '../lib/measure.js';
import { open } from '../lib/pools.js';

export default {
  title: 'Latency at a fixed 5k tasks/s for 3 s (quick: 0.6 s), open loop, tiny tasks, microseconds',
  sweep: true,
  entries: () => [...THREAD_PEERS, 'raw-echo'],
  metrics: [
    { key: 'p99', label: 'p99 us', better: 'lower' },
    { key: 'p50', label: 'p50 us', better: 'lower' },
    { key: 'p999', label: 'p99.9 us', better: 'lower' },
  ],
  // warmupMs (--warmup-ms): the open-loop warm-up before measuring. The
  // default second measures pools still settling (JIT tier-up); a longer one
  // measures steady state. docs/performance.md reports both.
  async measure(id, { threads, quick, warmupMs }) {
    const e = entries[id];
    const pool = await open(e.lib, { ...e.config, threads });
    return openLoop((i) => pool.run('inc', i), { rate: 5000, ms: quick ? 600 : 3000, warmupMs: warmupMs ?? (quick ? 200 : 1000) });
  },
};
