// Measurement helpers shared by the scenarios. Everything runs inside the
// child process of one measurement.

import { createHistogram, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full GC, so RSS readings start from a settled heap. */
export const gc = runInNewContext('gc');

export const MiB = 1024 * 1024;
export const now = () => performance.now();
export const rss = () => process.memoryUsage.rss();
/** Peak resident set of this process (all its threads) so far, in bytes. */
export const peakRss = () => process.resourceUsage().maxRSS * 1024;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Closed loop: keeps `inflight` tasks outstanding, submitting one as each
 * completes. Warms up for `warmupMs`, then counts completions over `measureMs`.
 * `check(i, out)` verifies each output so a pool that does no work is caught.
 */
export function closedLoop(submit, { inflight, warmupMs, measureMs, check }) {
  return new Promise((resolve, reject) => {
    let phase = 0; // 0 warm-up, 1 measuring, 2 draining
    let i = 0;
    let outstanding = 0;
    let counted = 0;
    let t0 = 0;
    let result;
    const launch = () => {
      const n = i++;
      outstanding++;
      submit(n).then((out) => {
        outstanding--;
        if (check !== undefined && !check(n, out)) {
          reject(new Error(`wrong output for task ${n}: ${String(out)}`));
          return;
        }
        if (phase === 1) counted++;
        if (phase === 2) {
          if (outstanding === 0) resolve(result);
          return;
        }
        launch();
      }, reject);
    };
    for (let k = 0; k < inflight; k++) launch();
    setTimeout(() => {
      phase = 1;
      t0 = now();
      setTimeout(() => {
        const elapsed = now() - t0;
        phase = 2;
        result = { opsPerSec: (counted / elapsed) * 1000, count: counted, ms: elapsed };
        if (outstanding === 0) resolve(result);
      }, measureMs);
    }, warmupMs);
  });
}

/**
 * Open loop at a fixed arrival rate: every timer tick submits the tasks due by
 * then. Latency is counted from each task's submission to its settlement and
 * recorded in a perf_hooks histogram (ns).
 */
export async function openLoop(submit, { rate, ms, warmupMs }) {
  const run = (durationMs, h) =>
    new Promise((resolve, reject) => {
      const total = Math.round((rate * durationMs) / 1000);
      let sent = 0;
      let done = 0;
      if (total === 0) {
        resolve(0);
        return;
      }
      const start = now();
      const tick = () => {
        const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000));
        while (sent < due) {
          const t = now();
          sent++;
          submit(sent).then(() => {
            h?.record(Math.max(1, Math.round((now() - t) * 1e6)));
            if (++done === total) resolve(now() - start);
          }, reject);
        }
        if (sent < total) setTimeout(tick, 1);
      };
      tick();
    });
  await run(warmupMs, undefined);
  const h = createHistogram();
  const elapsed = await run(ms, h);
  const us = (p) => h.percentile(p) / 1000;
  return { p50: us(50), p99: us(99), p999: us(99.9), max: h.max / 1000, count: h.count, ms: elapsed };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
