// (10) Shared memory: one pass of sqrt(x² + 1) over a large Float64Array split
// across the workers, in place on a SharedArrayBuffer (zero copies) against
// copying each range to its worker and back (what a pool without shared
// memory must do), and against the process kind (which can only copy).
import { MiB, now } from '../lib/measure.js';

const workerFile = new URL('../workers/sluice-shared.js', import.meta.url);

async function pool(kind, threads) {
  const { createPool } = await import('../../dist/index.js');
  const p = createPool({ kind, module: workerFile, size: threads });
  await p.start();
  return p;
}

const variants = {
  /** Zero-copy: every worker writes into the same memory. */
  async 'sluice mapShared, threads'(array, threads) {
    const { mapShared } = await import('../../dist/index.js');
    const p = await pool('thread', threads);
    return { p, pass: () => mapShared(p, 'scaleRange', array, { chunks: threads }) };
  },
  /** Each range copied to a worker (structured clone) and the result copied back into place. */
  async 'sluice copy, threads'(array, threads) {
    const p = await pool('thread', threads);
    const size = Math.ceil(array.length / threads);
    return {
      p,
      pass: async () => {
        await Promise.all(
          Array.from({ length: threads }, async (_, i) => {
            const start = i * size;
            const out = await p.run('scaleCopy', array.slice(start, Math.min(array.length, start + size)));
            array.set(out, start);
          }),
        );
      },
    };
  },
  /** Processes: mapShared copies ranges out and back (Node has no memory shared between processes). */
  async 'sluice mapShared, processes'(array, threads) {
    const { mapShared } = await import('../../dist/index.js');
    const p = await pool('process', threads);
    return { p, pass: () => mapShared(p, 'scaleRange', array, { chunks: threads }) };
  },
};

export default {
  title: 'Shared memory: sqrt(x² + 1) over a 256 MiB Float64Array (quick: 64 MiB), in place vs copied',
  sweep: false,
  entries: () => Object.keys(variants),
  metrics: [
    { key: 'passMs', label: 'ms per pass', better: 'lower' },
    { key: 'mbPerSec', label: 'MB/s', better: 'higher' },
  ],
  async measure(id, { threads, quick }) {
    const bytes = (quick ? 64 : 256) * MiB;
    const array = new Float64Array(new SharedArrayBuffer(bytes));
    for (let i = 0; i < array.length; i++) array[i] = i % 1000;
    const { p, pass } = await variants[id](array, threads);
    try {
      await pass(); // warm-up pass
      const passes = quick ? 2 : 4;
      const t0 = now();
      for (let i = 0; i < passes; i++) await pass();
      const passMs = (now() - t0) / passes;
      // Checked: every element went through the transform passes + 1 times.
      let expect = 0;
      for (let k = 0; k <= passes; k++) expect = Math.sqrt(expect * expect + 1);
      if (Math.abs(array[0] - expect) > 1e-9) throw new Error(`${id}: element 0 is ${array[0]}, expected ${expect}`);
      return { passMs, mbPerSec: bytes / MiB / (passMs / 1000) };
    } finally {
      await p.close();
    }
  },
};
