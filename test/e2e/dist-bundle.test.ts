/**
 * The published build: `npm run build` bundles tsc's output into dist
 * (scripts/bundle.mjs). Every other test runs the unbundled tsc output in
 * .test-build, so this one imports the package by its own name, which
 * resolves through package.json "exports" to dist/, and checks that the
 * bundles are what the build promises and that pools of both worker kinds
 * and the CLI work from them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const sluice = await import('sluice');
const ROOT = fileURLToPath(new URL('./', import.meta.resolve('sluice/package.json')));
const ENTRY_DIR = join(ROOT, 'dist/runtime/');

/** The static imports of a bundled file (esbuild writes them one per statement, double-quoted). */
function staticImports(code: string): string[] {
  return [...code.matchAll(/^import\s+(?:[^;]*?\s+from\s+)?"([^"]+)";$/gm)].map((m) => m[1] as string);
}
const FIXTURE = new URL('../fixtures/kinds.js', import.meta.url);

test('the worker entries in dist are bundled: no static import of sluice modules', async () => {
  for (const entry of ['thread-entry.js', 'process-entry.js']) {
    const code = await readFile(ENTRY_DIR + entry, 'utf8');
    assert.deepEqual(
      staticImports(code).filter((s) => !s.startsWith('node:')),
      [],
      `${entry} still imports other modules at load`,
    );
    // The modules loaded on demand stay outside the bundle, next to it.
    assert.match(code, /import\("\.\.\/observability\/worker-diagnostics\.js"\)/);
  }
});

test('the public entry points are bundled: they import shared chunks, Node and dependencies only', async () => {
  // Every entry package.json exports, and the CLI: a new entry cannot be left out of this check.
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }>; bin: Record<string, string> };
  const paths = [...Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [] : [t.default])), ...Object.values(pkg.bin)];
  const entries = paths.map((p) => p.replace(/^\.\/dist\//, ''));
  assert.ok(entries.includes('observability/dashboard/index.js') && entries.includes('cli/main.js'), entries.join(', '));
  for (const entry of entries) {
    const imports = staticImports(await readFile(join(ROOT, 'dist', entry), 'utf8'));
    assert.ok(imports.length > 0, `${entry}: no imports found; the pattern no longer matches esbuild's output`);
    const unbundled = imports.filter((s) => (s.startsWith('.') && !/^\.{1,2}\/(\.\.\/)*chunk-[A-Z0-9]+\.js$/.test(s)));
    assert.deepEqual(unbundled, [], `${entry} imports unbundled modules`);
  }
});

test('the CLI runs from dist', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-dist-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cli = join(ROOT, 'dist/cli/main.js');
  const version = spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8' });
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(version.stdout.trim(), pkg.version);
  const input = join(dir, 'in.jsonl');
  const output = join(dir, 'out.jsonl');
  await writeFile(input, ['{"n":1}', '{"n":2}', '{"n":3}'].join('\n') + '\n');
  const tasks = fileURLToPath(new URL('../fixtures/cli-tasks.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'run', tasks, '--task', 'echo', '--input', input, '--output', output, '--size', '1', '--fresh', '--progress', 'none'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await readFile(output, 'utf8')).trimEnd().split('\n').length, 3);
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
