/** Unit test of which parent flags thread workers inherit (src/worker/exec-argv.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';

test('workers inherit loader flags but not the flags of how the parent was started', async () => {
  const { inheritedExecArgv } = await import('../../src/worker/exec-argv.js');
  assert.deepEqual(
    inheritedExecArgv(['--import', 'tsx', '--input-type=module', '--eval', 'code', '--test', '--test-reporter', 'tap', '--max-old-space-size=100', '--enable-source-maps', '-e', 'x']),
    ['--import', 'tsx', '--max-old-space-size=100', '--enable-source-maps'],
  );
});
