/** Unit tests of how a worker thread finds the TypeScript loader among its preloads (src/runtime/loader-hooks.ts, loader-flags.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { preloadSpecifiers, splitNodeOptions, threadPreloads, tsxAmong } from '../../src/runtime/loader-hooks.js';
import { needsLoaderHooks } from '../../src/runtime/loader-flags.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = join(ROOT, 'node_modules', 'tsx');

test('preloadSpecifiers finds --import / --require / --loader values in either form', () => {
  assert.deepEqual(preloadSpecifiers(['--import', 'tsx', '--loader=ts-node/esm', '--experimental-loader', 'x', '-r', 'y', '--require=z', '--max-old-space-size=9']), ['tsx', 'ts-node/esm', 'x', 'y', 'z']);
});

test('splitNodeOptions splits as Node does: white space, double quotes, escapes inside them', () => {
  assert.deepEqual(splitNodeOptions('  --import tsx\t--max-old-space-size=100 '), ['--import', 'tsx', '--max-old-space-size=100']);
  assert.deepEqual(splitNodeOptions('--import "/a dir/loader.mjs" --title="x \\"y\\""'), ['--import', '/a dir/loader.mjs', '--title=x "y"']);
});

test('threadPreloads reads the flags and NODE_OPTIONS', () => {
  assert.deepEqual(threadPreloads(['--import', 'a'], '--require b --import=c'), ['a', 'b', 'c']);
  assert.deepEqual(threadPreloads([], undefined), []);
});

test('tsx is found however its preload is spelled: the package name, a subpath, the file: URL the tsx command passes, a path', () => {
  for (const spec of ['tsx', 'tsx/esm', pathToFileURL(join(TSX, 'dist', 'loader.mjs')).href, './node_modules/tsx/dist/loader.mjs', join(TSX, 'dist', 'esm', 'index.mjs')]) {
    assert.equal(tsxAmong([spec], ROOT), TSX, spec);
  }
});

test('other preloads are not tsx, nor is a name that does not resolve', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-loader-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A file inside a package with another name, even in a folder called tsx.
  mkdirSync(join(dir, 'tsx'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'not-tsx' }));
  writeFileSync(join(dir, 'tsx', 'loader.mjs'), '');
  assert.equal(tsxAmong(['./tsx/loader.mjs', 'no-such-package-here', pathToFileURL(join(dir, 'tsx', 'loader.mjs')).href], dir), undefined);
  assert.equal(tsxAmong([], ROOT), undefined);
});

test('needsLoaderHooks: any preload flag, in the flags or in NODE_OPTIONS', () => {
  assert.equal(needsLoaderHooks(['--import', 'tsx'], undefined), true);
  assert.equal(needsLoaderHooks(['--import=tsx'], undefined), true);
  assert.equal(needsLoaderHooks([], '--max-old-space-size=10 --import tsx'), true);
  assert.equal(needsLoaderHooks([], '-r ./x.cjs'), true);
  assert.equal(needsLoaderHooks(['--enable-source-maps'], '--max-old-space-size=10'), false);
  assert.equal(needsLoaderHooks([], '--require-module'), false);
});
