/**
 * The worker runtime's hold of RunAfter batches (src/runtime/runtime.ts),
 * driven in this process through a fake transport, so message order is
 * exact: no worker, no timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRuntime } from '../../src/runtime/runtime.js';
import { Op } from '../../src/wire/protocol.js';
import { eventually } from '../helpers/index.js';

const FIXTURE = new URL('../fixtures/reentry.js', import.meta.url);

test('batches held behind RunAfter start in sequence order, even when a task settles inside its own then()', async () => {
  const posted: unknown[][] = [];
  let deliver: ((m: unknown[]) => void) | undefined;
  startRuntime({ post: (m) => void posted.push(m), onMessage: (l) => (deliver = l) }, { module: FIXTURE.href, workerId: 1, state: null, corrPrefix: 'r-' });
  await eventually(() => posted.some((m) => m[0] === Op.Ready), 'the runtime reports ready');
  const names = posted.find((m) => m[0] === Op.Ready)?.[1] as string[];
  const idx = (name: string): number => names.indexOf(name);
  const send = deliver as (m: unknown[]) => void;
  send([Op.Run, idx('a_hold'), null, 1, null]); // seq 1: async, still running
  send([Op.RunAfter, idx('b_sync'), 'B', 2, null]); // seq 2: held while seq 1 runs
  send([Op.Run, idx('c_thenable'), null, 3, null, idx('d_inc'), 10, 4, null]); // seqs 3, 4: held behind it
  send([Op.Run, idx('d_inc'), 20, 5, null]); // seq 5: held too
  const results = (): Map<number, unknown> => {
    const out = new Map<number, unknown>();
    for (const m of posted) if (m[0] === Op.Results) for (let i = 1; i < m.length; i += 3) out.set(m[i] as number, m[i + 2]);
    return out;
  };
  // Let every microtask run: nothing held may have started.
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([...results().keys()], [], 'a held task ran next to the running one');
  const fixture = (await import(FIXTURE.href)) as { a_release(): void };
  fixture.a_release();
  await eventually(() => results().size === 5, 'all five results');
  assert.deepEqual(
    [...results()].sort((x, y) => x[0] - y[0]),
    [
      [1, 'A'],
      [2, 'B'],
      [3, 'T'],
      [4, 11],
      [5, 21],
    ],
  );
});
