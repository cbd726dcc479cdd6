// A CommonJS consumer of the installed tarball: require() of sluice and of each
// subpath (Node's require of ES modules, which sluice's bundles allow: they
// have no top-level await). Prints one JSON line for the test to read.
'use strict';
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { createPool, SluiceError, cpuCount } = require('sluice');
const { ManualClock } = require('sluice/testing');
const prometheus = require('sluice/prometheus');
const otel = require('sluice/otel');
const { registerTaskHook } = require('sluice/worker');
const bullmq = require('sluice/bullmq');
const dashboard = require('sluice/dashboard');

async function main() {
  const results = {};
  for (const kind of ['thread', 'process', 'async']) {
    // Threads and processes load the module; an async pool takes its functions.
    const pool = createPool(kind === 'async' ? { kind, tasks: require('./tasks.cjs') } : { kind, module: pathToFileURL(join(__dirname, 'tasks.cjs')), size: 1 });
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
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
