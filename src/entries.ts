/**
 * Where the worker entry files are (the pool's, and those of `sluice run`). This module sits at the root of the
 * package on purpose: the build bundles the pool into dist/index.js or a
 * chunk beside it (scripts/bundle.mjs), so `./runtime/...` from here holds
 * both bundled and unbundled (.build/js/entries.js, .test-build/src/entries.js).
 * The build checks that these paths land at the root of dist.
 */
export const THREAD_ENTRY = new URL('./runtime/thread-entry.js', import.meta.url);
export const PROCESS_ENTRY = new URL('./runtime/process-entry.js', import.meta.url);
/** The module `sluice run` gives its line workers (cli/run/executor.ts). */
export const LINE_WORKER = new URL('./cli/run/line-worker.js', import.meta.url).href;
/** The runner thread of `sluice run` (cli/run/runner-thread.ts). */
export const RUNNER_ENTRY = new URL('./cli/run/runner-entry.js', import.meta.url).href;
