/**
 * A public type surface: only public types are reachable from the package's
 * declaration entries. The build rolls one declaration file per entry of
 * package.json "exports" (scripts/types.mjs); these tests read those files
 * (dist/, as `npm run build` left it) and the build's record of which source
 * modules went into each (.build/types-manifest.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { declared } from './declarations.js';
import { ROOT } from './pack.js';

const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string }> };
const entries = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [] : [t.types.replace(/^\.\//, '')]));
const manifest = JSON.parse(await readFile(join(ROOT, '.build/types-manifest.json'), 'utf8')) as Record<string, string[]>;
const files = Object.fromEntries(await Promise.all(entries.map(async (e) => [e, declared(e, await readFile(join(ROOT, e), 'utf8'))] as const)));
const publicNames = new Set(Object.values(files).flatMap((d) => d.exported));

/**
 * Types users reach but cannot name from the entry that reaches them, and no
 * entry exports either: each is part of the API by shape only. The list is
 * here so that a new one is a decision (export it, or keep it out of the
 * public signatures), not an accident.
 */
const UNNAMED: Record<string, string[]> = {
  'dist/index.d.ts': [
    'AnyFn', // TaskName's function shape
    'ErrorClass', // registerError's parameter
    'Resolved', // HysteresisScaler#options
    'Transferable', // RunOptions#transfer
    'WorkerCrashDetails', // WorkerCrashedError's constructor
  ],
  'dist/bullmq/index.d.ts': [
    'EncodedError', // BullDeadLetter#error, an error as a job carries it
    'WireRetry', // BullDeadLetter#retry
  ],
  'dist/observability/prometheus.d.ts': [
    'AnyPool', // Pool<TaskModule>, spelled once
  ],
};

test('the declaration checker sees const enums and unexported declarations (it can fail)', () => {
  const d = declared('x.d.ts', 'declare const enum Op { A = 1 }\ninterface Hidden { op: Op }\ndeclare function f(h: Hidden): void;\nexport { f };\nexport type { Shown };\ninterface Shown {}\n');
  assert.deepEqual(d, { exported: ['Shown', 'f'], unexported: ['Hidden', 'Op'], constEnums: ['Op'] });
});

test('one rolled-up declaration file per entry point, and no other declaration file in dist', async () => {
  const all = (await readdir(join(ROOT, 'dist'), { recursive: true })).filter((f) => f.endsWith('.d.ts')).map((f) => `dist/${f}`);
  assert.deepEqual(all.sort(), [...entries].sort());
  assert.deepEqual(Object.keys(manifest).sort(), [...entries].sort());
  for (const [entry, d] of Object.entries(files)) assert.ok(d.exported.length > 0, `${entry} exports nothing`);
});

test('no const enum is reachable from any entry', () => {
  for (const [entry, d] of Object.entries(files)) assert.deepEqual(d.constEnums, [], `${entry} declares const enums`);
});

test('the wire protocol, the engine, the workers and the worker runtime reach no entry', () => {
  // Modules whose types are internal by their layer (docs/ARCHITECTURE.md):
  // the runtime's task hooks are the one public part of it (sluice/worker),
  // pool.map()'s options and result the one of the engine.
  const internal = /^(wire\/protocol|engine\/(?!map\.ts$)|worker\/|queue\/|config\/|runtime\/(?!task-hooks\.ts$))/;
  for (const [entry, modules] of Object.entries(manifest)) {
    assert.deepEqual(modules.filter((m) => internal.test(m)), [], `${entry} takes declarations from internal modules`);
  }
});

test('every type an entry reaches is exported by an entry, or listed as reachable by shape only', () => {
  for (const [entry, d] of Object.entries(files)) {
    const unnamed = d.unexported.filter((n) => !publicNames.has(n));
    assert.deepEqual(unnamed, UNNAMED[entry] ?? [], `${entry}: types reachable from the entry that no entry exports`);
  }
});

test('the other entries take the main entry\'s types from it, so a Pool is one type across entries', async () => {
  for (const entry of ['dist/observability/prometheus.d.ts', 'dist/observability/otel.d.ts', 'dist/bullmq/index.d.ts']) {
    const text = await readFile(join(ROOT, entry), 'utf8');
    assert.match(text, /^import \{[^}]*\bPool\b[^}]*\} from '\.\.\/index\.js';$/m, `${entry} does not import Pool from the main entry`);
    assert.doesNotMatch(text, /^declare class Pool\b/m, `${entry} declares its own Pool`);
  }
});
