/**
 * The published build: `npm run build` bundles each worker entry into one
 * file (scripts/bundle-workers.mjs). Every other test runs the tsc output in
 * .test-build, so this one imports the package by its own name, which
 * resolves through package.json "exports" to dist/, and checks that pools
 * of both worker kinds start and work from the bundled entries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const sluice = await import('sluice');
const ENTRY_DIR = fileURLToPath(new URL('./dist/runtime/', import.meta.resolve('sluice/package.json')));
const FIXTURE = new URL('./fixtures/kinds.js', import.meta.url);

test('the worker entries in dist are bundled: no static import of sluice modules', async () => {
  for (const entry of ['thread-entry.js', 'process-entry.js']) {
    const code = await readFile(ENTRY_DIR + entry, 'utf8');
    const statics = [...code.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    assert.deepEqual(
      statics.filter((s) => !s?.startsWith('node:')),
      [],
      `${entry} still imports other modules at load`,
    );
    // The modules loaded on demand stay outside the bundle, next to it.
    assert.match(code, /import\("\.\.\/worker-diagnostics\.js"\)/);
  }
});

for (const kind of ['thread', 'process'] as const) {
  test(`kind ${kind} from dist: results, coded errors, diagnostics`, async () => {
    const pool = sluice.createPool({ kind, module: FIXTURE, size: 1 });
    try {
      assert.equal(await pool.run('inc', 41), 42);
      await assert.rejects(pool.run('fail', 'custom'), (err: Error & { key?: string }) => {
        assert.equal(err.name, 'NotFoundError');
        assert.equal(err.key, 'k1');
        return true;
      });
      await assert.rejects(pool.run('nope', 1), sluice.UnknownTaskError);
      // Loaded on demand from the unbundled module beside the entry.
      const d = await pool.diagnostics();
      assert.equal(d.workers.length, 1);
      assert.ok((d.workers[0]?.heapUsed ?? 0) > 0);
    } finally {
      await pool.close();
    }
  });
}
