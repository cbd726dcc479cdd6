/**
 * Where the worker entry files are. This module sits at the root of the
 * package on purpose: the build bundles the pool into dist/index.js or a
 * chunk beside it (scripts/bundle.mjs), so `./runtime/...` from here holds
 * both bundled and unbundled (.build/js/entries.js, .test-build/src/entries.js).
 * The build checks that these paths land at the root of dist.
 */
export const THREAD_ENTRY = new URL('./runtime/thread-entry.js', import.meta.url);
export const PROCESS_ENTRY = new URL('./runtime/process-entry.js', import.meta.url);
