// (12) Changing durations under one task name: 20,000 tiny tasks (3 us of
// busy-wait) immediately followed by 400 tasks of 2 ms, all `busy` with the
// duration in the input, all submitted at once. A pool that sized its
// pipeline for the tiny tasks may have sent long ones ahead into one worker's
// inbox, where they wait while another worker runs out of work. Measured:
// wall time from the first submission to the last result; the ideal is the
// serial work divided by the workers. And the burst alone: the tiny tasks
// run and are awaited first (the pool has tuned itself to them), then the
// long ones come at once; the burst's wall time is what the target judges,
// since it is where work sent ahead could strand, and the peers' per-task
// cost on the tiny tasks does not hide it.
import { availableParallelism } from 'node:os';
import { entries } from '../lib/entries.js';
import { median, now } from '../lib/measure.js';
import { open } from '../lib/pools.js';

const TINY_US = 3;
const LONG_US = 2000;

/** The task counts of one pass: full size, quick, and the warm-up (a tenth, same shape). */
export function shape(quick) {
  return quick ? { tiny: 5000, long: 100, reps: 1 } : { tiny: 20_000, long: 400, reps: 3 };
}

/**
 * Submits every task of one pass at once. Resolves with the wall time of the
 * pass (first submission to last result) and the time from the last tiny
 * result to the last long one, in ms. Each output is checked.
 */
function pass(pool, tiny, long) {
  return new Promise((resolve, reject) => {
    let left = tiny + long;
    let lastTiny = 0;
    let lastLong = 0;
    const t0 = now();
    const settled = () => {
      if (--left > 0) return;
      resolve({ wallMs: now() - t0, afterTinyMs: Math.max(0, lastLong - lastTiny) });
    };
    const onTiny = (out) => {
      if (out !== TINY_US) reject(new Error(`wrong output for a tiny task: ${String(out)}`));
      lastTiny = now();
      settled();
    };
    const onLong = (out) => {
      if (out !== LONG_US) reject(new Error(`wrong output for a long task: ${String(out)}`));
      lastLong = now();
      settled();
    };
    for (let i = 0; i < tiny; i++) pool.run('busy', TINY_US).then(onTiny, reject);
    for (let i = 0; i < long; i++) pool.run('busy', LONG_US).then(onLong, reject);
  });
}

/**
 * The case as users meet it: many tiny tasks first (awaited: the pool has
 * tuned itself to them), then at once a burst of long ones under the same
 * name. Resolves with the burst's wall time (first long submission to last
 * long result), in ms. Peers' cost on the tiny tasks does not count here.
 */
async function burstPass(pool, tiny, long) {
  const tinies = [];
  for (let i = 0; i < tiny; i++) tinies.push(pool.run('busy', TINY_US));
  await Promise.all(tinies);
  const t0 = now();
  const longs = [];
  for (let i = 0; i < long; i++) longs.push(pool.run('busy', LONG_US));
  for (const out of await Promise.all(longs)) if (out !== LONG_US) throw new Error(`wrong output for a long task: ${String(out)}`);
  return now() - t0;
}

export default {
  title: `Changing durations under one task name: ${TINY_US} us x 20,000 then ${LONG_US / 1000} ms x 400 (quick: 5,000 and 100), all submitted at once; median of 3 passes (quick: 1) after a warm-up pass a tenth the size`,
  sweep: true,
  // sluice pipeline=1: nothing sent ahead, so nothing can be stranded in an inbox (the bound work stealing heads for).
  // piscina FixedQueue: piscina's O(1) queue, advised for queues this long.
  entries: (quick) => (quick ? ['sluice', 'piscina', 'tinypool'] : ['sluice', 'sluice pipeline=1', 'piscina', 'piscina FixedQueue', 'tinypool']),
  // after last tiny: from the last tiny result to the last long one. A FIFO pool that runs the long
  // tasks after the tiny ones should need about long x 2 ms / workers here; work stranded in one
  // worker's inbox shows as more. (A pool that finishes tiny tasks last shows about 0.)
  metrics: [
    { key: 'burstMs', label: 'burst ms', better: 'lower' },
    { key: 'burstVsIdeal', label: 'burst/ideal', better: 'lower', digits: 2 },
    { key: 'wallMs', label: 'mixed wall ms', better: 'lower' },
    { key: 'vsIdeal', label: 'wall/ideal', better: 'lower', digits: 2 },
    { key: 'idealMs', label: 'ideal ms', better: 'lower' },
    { key: 'afterTinyMs', label: 'after last tiny ms', better: 'lower' },
    { key: 'longIdealMs', label: 'long work / workers ms', better: 'lower' },
  ],
  async measure(id, { threads, quick }) {
    const { tiny, long, reps } = shape(quick);
    const e = entries[id];
    // The child process exits after the measurement, like every scenario's: no close timed or awaited.
    const pool = await open(e.lib, { ...e.config, threads });
    // Same mix, a tenth the size: JIT warm, and every pool has seen both durations once.
    await pass(pool, tiny / 10, long / 10);
    const passes = [];
    for (let r = 0; r < reps; r++) passes.push(await pass(pool, tiny, long));
    const wallMs = median(passes.map((p) => p.wallMs));
    const bursts = [];
    for (let r = 0; r < reps; r++) bursts.push(await burstPass(pool, tiny, long));
    const burstMs = median(bursts);
    const workers = Math.min(threads, availableParallelism());
    const idealMs = (tiny * TINY_US + long * LONG_US) / 1000 / workers;
    const longIdealMs = (long * LONG_US) / 1000 / workers;
    return { burstMs, burstVsIdeal: burstMs / ((long * LONG_US) / 1000 / workers), wallMs, vsIdeal: wallMs / idealMs, idealMs, afterTinyMs: median(passes.map((p) => p.afterTinyMs)), longIdealMs, passes };
  },
};
