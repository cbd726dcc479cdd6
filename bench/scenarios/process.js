// (7) Process backend: tiny tasks through child processes.
import { entries } from '../lib/entries.js';
import { closedLoop } from '../lib/measure.js';
import { open } from '../lib/pools.js';

export default {
  title: 'Process backend: tiny tasks, 2 child processes, closed loop, 1024 in flight',
  sweep: false,
  entries: () => ['sluice process', 'workerpool process', 'raw-ipc'],
  metrics: [{ key: 'opsPerSec', label: 'tasks/s', better: 'higher' }],
  async measure(id, { quick }) {
    const e = entries[id];
    const pool = await open(e.lib, { ...e.config, threads: 2 });
    return closedLoop((i) => pool.run('inc', i), {
      inflight: 1024,
      warmupMs: quick ? 200 : 500,
      measureMs: quick ? 500 : 2000,
      check: (i, out) => out === i + 1,
    });
  },
};
