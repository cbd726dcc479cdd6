// (3) CPU-bound: fib(30) tasks; the pool should add nothing to the ideal time.
import { availableParallelism } from 'node:os';
import { entries, THREAD_PEERS } from '../lib/entries.js';
import { now } from '../lib/measure.js';
import { open } from '../lib/pools.js';
import { fib } from '../workers/work.js';

export default {
  title: 'CPU-bound: fib(30) x 240 (quick: x 16), wall time vs ideal = serial / workers',
  sweep: true,
  // raw-echo: the same fib calls on bare workers, round robin, no pool: what the machine allows right now.
  // sluice pipeline=1: no task sent ahead, so every task waits out a round trip (what the prefetch buys).
  entries: (quick) => (quick ? [...THREAD_PEERS, 'raw-echo'] : [...THREAD_PEERS, 'sluice pipeline=1', 'raw-echo']),
  metrics: [
    { key: 'vsIdeal', label: 'wall/ideal', better: 'lower', digits: 3 },
    { key: 'wallMs', label: 'wall ms', better: 'lower' },
    { key: 'idealMs', label: 'ideal ms', better: 'lower' },
  ],
  async measure(id, { threads, quick }) {
    // 240 tasks: divisible by 2, 4, 8 and 15 workers, so an uneven last
    // round cannot cost efficiency by arithmetic (64 tasks on 15 workers
    // would cap it at 64 / (15 * 5) = 85%), and ~2 s of serial work makes a
    // fixed millisecond of start or tail small against the 2% target.
    const n = quick ? 16 : 240;
    // Serial reference in this process, after the function is optimised.
    for (let i = 0; i < 3; i++) fib(27);
    let t0 = now();
    for (let i = 0; i < n; i++) fib(30);
    const serialMs = now() - t0;
    const e = entries[id];
    const pool = await open(e.lib, { ...e.config, threads });
    const warm = [];
    for (let i = 0; i < threads * 2; i++) warm.push(pool.run('fib', 27));
    await Promise.all(warm);
    t0 = now();
    const all = [];
    for (let i = 0; i < n; i++) all.push(pool.run('fib', 30));
    const out = await Promise.all(all);
    const wallMs = now() - t0;
    if (out.some((v) => v !== 832040)) throw new Error('wrong fib(30)');
    const idealMs = serialMs / Math.min(threads, availableParallelism());
    return { vsIdeal: wallMs / idealMs, wallMs, idealMs, serialMs };
  },
};
