// (14) pool.map's default window against fixed `concurrency` settings, on
// tiny (~1 µs), 40 µs and ~1 ms tasks: the default adapts (src/engine/map-window.ts);
// the sweep of fixed values shows what the best hand-picked one gets. The
// ratio column is default / entry within each task size; the summary lines
// give default / best.
import { now } from '../lib/measure.js';
import { open } from '../lib/pools.js';

const SIZES = [
  { key: 'tiny', us: 0, items: 300_000, quickItems: 60_000 },
  { key: '40us', us: 40, items: 40_000, quickItems: 8_000 },
  { key: '1ms', us: 1000, items: 3_000, quickItems: 600 },
];
const FIXED = [4, 16, 64, 256, 1024];
const QUICK_FIXED = [4, 64, 1024];

const id = (size, c) => `${size} ${c === undefined ? 'default' : `c=${c}`}`;

function parse(entry) {
  const [key, setting] = entry.split(' ');
  const size = SIZES.find((s) => s.key === key);
  if (size === undefined) throw new Error(`unknown task size in '${entry}'`);
  return { size, concurrency: setting === 'default' ? undefined : Number(setting.slice(2)) };
}

export default {
  title: 'pool.map over busy(us) tasks: the default window vs fixed concurrency',
  sweep: true,
  entries: (quick) => SIZES.flatMap((s) => [id(s.key), ...(quick ? QUICK_FIXED : FIXED).map((c) => id(s.key, c))]),
  metrics: [{ key: 'itemsPerSec', label: 'items/s', better: 'higher' }],
  /** The ratio column: each entry against the default of its task size. */
  ratio: { label: 'default/entry', reference: (entry) => `${entry.split(' ')[0]} default` },
  /** default / best fixed setting, and default / 2 × size (the default before the window adapted), per task size. */
  summary(entries, threads) {
    const lines = [];
    for (const s of SIZES) {
      const mine = entries.filter((e) => e.id.startsWith(`${s.key} `) && e.median?.itemsPerSec !== undefined);
      const def = mine.find((e) => e.id.endsWith('default'));
      const fixed = mine.filter((e) => e !== def);
      if (def === undefined || fixed.length === 0) continue;
      const best = fixed.reduce((a, b) => (b.median.itemsPerSec > a.median.itemsPerSec ? b : a));
      const old = fixed.find((e) => e.id === id(s.key, 2 * threads));
      const vsOld = old === undefined ? '' : `, default/c=${2 * threads} (2 × size, the old default) ${(def.median.itemsPerSec / old.median.itemsPerSec).toFixed(2)}`;
      lines.push(`${s.key}: default ${Math.round(def.median.itemsPerSec).toLocaleString('en-US')} items/s, best fixed ${best.id.split(' ')[1]} ${Math.round(best.median.itemsPerSec).toLocaleString('en-US')} items/s, default/best ${(def.median.itemsPerSec / best.median.itemsPerSec).toFixed(2)}${vsOld}`);
    }
    return lines;
  },
  async measure(entry, { threads, quick }) {
    const { size, concurrency } = parse(entry);
    const { pool, close } = await open('sluice', { threads, capacity: 10_000 });
    try {
      const options = concurrency === undefined ? {} : { concurrency };
      const pass = async (n) => {
        let count = 0;
        for await (const out of pool.map('busy', new Array(n).fill(size.us), options)) {
          if (out !== size.us) throw new Error(`wrong output ${out}`);
          count++;
        }
        return count;
      };
      const n = quick ? size.quickItems : size.items;
      await pass(Math.ceil(n / 10)); // warm: JIT, and the worker's pipeline depth
      const t0 = now();
      const count = await pass(n);
      const ms = now() - t0;
      return { itemsPerSec: (count / ms) * 1000, ms };
    } finally {
      await close();
    }
  },
};
