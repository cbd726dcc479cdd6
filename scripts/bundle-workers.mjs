// Build step after tsc: each worker entry becomes one self-contained file.
//
// Why: a new worker is a new isolate that loads its entry's whole module
// graph before it can say Ready, and the runtime is about ten small ES
// modules (runtime, protocol, error codec, errors, lifecycle, task hooks...).
// Resolving, fetching and linking them one by one cost ~4 ms of every
// worker's start (docs/performance.md, "Start-up"). The bundle replaces
// dist/runtime/{thread,process}-entry.js in place, so nothing that points at
// those paths changes. The modules the runtime loads only on demand
// (loader hooks, diagnostics) stay separate files: most workers never load
// them. The unbundled modules stay in dist too: `sluice/worker` and the
// pool itself import them. State the runtime shares with them (task hooks,
// the error brand) lives on global symbols, so two copies agree.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/runtime/', import.meta.url));

await build({
  entryPoints: [`${dist}thread-entry.js`, `${dist}process-entry.js`],
  outdir: dist,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Composed with tsc's maps, so stack traces still point into src/.
  sourcemap: true,
  external: ['../worker-diagnostics.js', './loader-hooks.js'],
  logLevel: 'warning',
});
