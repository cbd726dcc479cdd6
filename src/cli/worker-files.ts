/**
 * Where the CLI's worker-side files are. This module sits beside main.ts on
 * purpose: the build bundles it into dist/cli/main.js, so `./run/...` from
 * here holds both bundled and unbundled (.test-build/src/cli/); the build
 * checks that the file is there (scripts/bundle.mjs).
 */
export const LINE_WORKER = new URL('./run/line-worker.js', import.meta.url).href;
