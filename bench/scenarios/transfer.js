// (4) 1 MiB ArrayBuffer moved to a worker and back (transferred both ways where the library can).
import { entries, THREAD_PEERS } from '../lib/entries.js';
import { closedLoop, MiB } from '../lib/measure.js';
import { open } from '../lib/pools.js';

export default {
  title: '1 MiB ArrayBuffer transfer round trip, one in flight per worker',
  sweep: true,
  entries: () => [...THREAD_PEERS, 'raw-echo'],
  metrics: [{ key: 'opsPerSec', label: 'round trips/s', better: 'higher' }],
  async measure(id, { threads, quick }) {
    const e = entries[id];
    const pool = await open(e.lib, { ...e.config, threads });
    const free = [];
    for (let i = 0; i < threads; i++) free.push(new ArrayBuffer(MiB));
    return closedLoop(
      () => {
        const buf = free.pop();
        return pool.run('echoBuf', buf, [buf]).then((back) => {
          // Checked here: once back in the free list, the buffer may be sent (detached) again.
          if (!(back instanceof ArrayBuffer) || back.byteLength !== MiB) throw new Error('echoBuf returned something else than the 1 MiB buffer');
          free.push(back);
        });
      },
      { inflight: threads, warmupMs: quick ? 200 : 500, measureMs: quick ? 500 : 2000 },
    );
  },
};
