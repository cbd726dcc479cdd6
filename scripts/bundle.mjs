// Build step after tsc (`npm run build`): tsc type-checks and writes
// JavaScript to .build/js and declarations to dist; esbuild bundles the
// JavaScript into dist. package.json "exports", the bin and the .d.ts files
// keep their paths.
//
// Why: Node loads ES modules one file at a time (resolve, read, compile,
// link), and sluice is ~45 small modules. Measured on the 2-core machine
// (docs/performance.md, "Start-up"): importing the unbundled index took
// ~30 ms, the bundle ~15 ms; a worker loading the unbundled runtime (~10
// modules) was ready ~4 ms later than with one file.
//
// Two builds:
// - The public entry points, with code splitting: a module that several
//   entries use goes into one shared chunk, so there is exactly one copy of
//   each module in a process however many of sluice's entry points it loads.
// - What runs inside workers, each file self-contained: the two worker
//   entries, and the modules the runtime loads on demand (loader hooks,
//   diagnostics), which most workers never load. State these copies share
//   with the public modules (task hooks, the error brand) lives on global
//   symbols, so the copies agree.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const from = join(root, '.build/js');
const dist = join(root, 'dist');

// dist holds only tsc's declarations here: `npm run build` empties it
// first (scripts/clean.mjs), so no bundle or chunk of an earlier build is left.

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', outdir: dist, outbase: from, sourcemap: true, logLevel: 'warning' };

const result = await build({
  ...common,
  entryPoints: ['index.js', 'testing.js', 'observability/prometheus.js', 'observability/otel.js', 'observability/dashboard/index.js', 'worker-api.js', 'bullmq/index.js', 'cli/main.js', 'cli/run/runner-entry.js'].map((e) => join(from, e)),
  splitting: true,
  // Chunks at the root of dist, like index.js: see src/entries.ts.
  chunkNames: 'chunk-[hash]',
  // Dependencies (commander, prom-client, bullmq...) load from node_modules as usual.
  packages: 'external',
  metafile: true,
});

await build({
  ...common,
  // cli/run/line-worker.js: the module `sluice run` gives its workers (src/entries.ts finds it).
  entryPoints: ['runtime/thread-entry.js', 'runtime/process-entry.js', 'runtime/loader-hooks.js', 'observability/worker-diagnostics.js', 'cli/run/line-worker.js'].map((e) => join(from, e)),
  external: ['../observability/worker-diagnostics.js', './loader-hooks.js'],
  packages: 'external',
});

// src/entries.ts finds the worker entries relative to its own file, so the
// output it lands in must sit at the root of dist. Checked, not assumed.
let found = false;
for (const out of Object.keys(result.metafile.outputs)) {
  if (!out.endsWith('.js')) continue;
  const rel = relative(dist, join(process.cwd(), out));
  if (!(await readFile(join(dist, rel), 'utf8')).includes('./runtime/thread-entry.js')) continue;
  if (rel.includes(sep)) throw new Error(`bundle: the worker entry paths landed in dist/${rel}, not at the root of dist (see src/entries.ts)`);
  found = true;
}
if (!found) throw new Error('bundle: no output holds the worker entry paths');

// src/entries.ts finds `sluice run`'s worker module and runner thread under dist/cli/run/.
for (const file of ['cli/run/line-worker.js', 'cli/run/runner-entry.js']) {
  try {
    await readFile(join(dist, file));
  } catch {
    throw new Error(`bundle: dist/${file} is missing (see src/entries.ts)`);
  }
}
