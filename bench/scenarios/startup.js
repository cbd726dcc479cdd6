// (6) Start-up: from creating the pool to the first result.
import { entries, THREAD_PEERS } from '../lib/entries.js';
import { now } from '../lib/measure.js';
import { adapterFor } from '../lib/pools.js';

export default {
  title: 'Start-up: create pool -> first result (library import excluded), ms',
  sweep: true,
  entries: () => THREAD_PEERS,
  metrics: [
    { key: 'firstResultMs', label: 'first result ms', better: 'lower', digits: 1 },
    { key: 'importMs', label: 'import ms', better: 'lower', digits: 1 },
  ],
  async measure(id, { threads }) {
    const e = entries[id];
    const lib = e.lib === 'sluice' ? '../../dist/index.js' : e.lib;
    let t0 = now();
    await import(lib); // cached afterwards, so the adapter's own import is free
    const importMs = now() - t0;
    t0 = now();
    const pool = await adapterFor(e.lib)({ ...e.config, threads });
    const out = await pool.run('inc', 41);
    const firstResultMs = now() - t0;
    if (out !== 42) throw new Error('wrong output');
    return { firstResultMs, importMs };
  },
};
