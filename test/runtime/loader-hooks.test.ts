/** Unit test of the loader flags the worker runtime looks for (src/runtime/loader-hooks.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';

test('importedLoaders finds --import / --loader specifiers in either form', async () => {
  const { importedLoaders } = await import('../../src/runtime/loader-hooks.js');
  assert.deepEqual(importedLoaders(['--import', 'tsx', '--loader=ts-node/esm', '--experimental-loader', 'x', '--max-old-space-size=9']), ['tsx', 'ts-node/esm', 'x']);
});
