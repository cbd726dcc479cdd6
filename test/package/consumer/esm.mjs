// An ES module consumer of the installed tarball: every entry point loads, and
// a pool of each kind runs a task. Prints one JSON line for the test to read.
import { createPool, SluiceError, cpuCount } from 'sluice';
import { ManualClock } from 'sluice/testing';
import * as prometheus from 'sluice/prometheus';
import * as otel from 'sluice/otel';
import { registerTaskHook } from 'sluice/worker';
import * as bullmq from 'sluice/bullmq';
import * as dashboard from 'sluice/dashboard';
import * as tasks from './tasks.mjs';

const results = {};
for (const kind of ['thread', 'process', 'async']) {
  // Threads and processes load the module; an async pool takes its functions.
  const pool = createPool(kind === 'async' ? { kind, tasks } : { kind, module: new URL('./tasks.mjs', import.meta.url), size: 1 });
  try {
    results[kind] = await pool.run('inc', 41);
  } finally {
    await pool.close();
  }
}
console.log(JSON.stringify({
  results,
  entries: {
    sluice: typeof SluiceError === 'function' && cpuCount() >= 1,
    testing: typeof ManualClock === 'function',
    prometheus: typeof prometheus.instrumentPool === 'function',
    otel: typeof otel.instrumentPool === 'function',
    worker: typeof registerTaskHook === 'function',
    bullmq: typeof bullmq.createClient === 'function' && typeof bullmq.serve === 'function',
    dashboard: typeof dashboard.serveDashboard === 'function',
  },
}));
