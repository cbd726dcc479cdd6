// (8) Async backend: in-process async tasks with bounded concurrency, a
// million queued at once. Measures throughput and memory per queued task.
import { gc, MiB, now, peakRss, rss } from '../lib/measure.js';
import { Skip } from '../lib/pools.js';

const CONCURRENCY = 16;
/** An async task that yields once, like a real one awaiting I/O would. */
const inc = async (x) => {
  await Promise.resolve();
  return x + 1;
};

/** Each returns submit(i) -> Promise for its library. */
const makers = {
  async 'sluice async'() {
    const { createPool } = await import('../../dist/index.js');
    let pool;
    try {
      pool = createPool({ kind: 'async', tasks: { inc }, size: CONCURRENCY, queue: { capacity: Infinity } });
    } catch (err) {
      if (err?.code === 'INVALID_OPTION' || err?.name === 'InvalidOptionError') throw new Skip(`kind 'async' not available: ${err.message}`);
      throw err;
    }
    return (i) => pool.run('inc', i);
  },
  async 'p-queue'() {
    const { default: PQueue } = await import('p-queue');
    const queue = new PQueue({ concurrency: CONCURRENCY });
    return (i) => queue.add(() => inc(i));
  },
  async 'p-limit'() {
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(CONCURRENCY);
    return (i) => limit(() => inc(i));
  },
};

export default {
  title: `Async backend: 1M async tasks queued at once (quick: 200k), concurrency ${CONCURRENCY}`,
  sweep: false,
  entries: () => Object.keys(makers),
  metrics: [
    { key: 'opsPerSec', label: 'tasks/s', better: 'higher' },
    { key: 'bytesPerTask', label: 'RSS B/queued task', better: 'lower' },
    { key: 'peakRssMB', label: 'peak RSS MB', better: 'lower' },
  ],
  async measure(id, { quick }) {
    const n = quick ? 200_000 : 1_000_000;
    const submit = await makers[id]();
    await Promise.all([submit(0), submit(1)]);
    gc();
    const before = rss();
    let done = 0;
    let bad = 0;
    let finish;
    const finished = new Promise((r) => (finish = r));
    const t0 = now();
    for (let i = 0; i < n; i++) {
      submit(i).then((out) => {
        if (out !== i + 1) bad++;
        if (++done === n) finish();
      });
    }
    const queued = rss();
    await finished;
    const ms = now() - t0;
    if (bad > 0) throw new Error(`${bad} wrong outputs`);
    return { opsPerSec: (n / ms) * 1000, bytesPerTask: (queued - before) / n, peakRssMB: peakRss() / MiB, ms };
  },
};
