/**
 * The package as users get it. One tarball is packed from a fresh copy of
 * the checkout (test/package/pack.ts: `prepack` must build it), linted with
 * publint and Are The Types Wrong, and installed into consumer projects
 * (test/package/consumer.ts) that load it as ES modules, with require(),
 * and from TypeScript, and that use each optional peer at its lowest
 * supported version.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { packFreshCheckout, ROOT, sh } from './pack.js';
import { consumerProject, installedVersion } from './consumer.js';
import { redisAvailable, REDIS_URL } from '../helpers/redis.js';

/** Temporary folders (the checkout, the tarball, the consumer projects and their node_modules), removed at the end. */
const scratch: string[] = [];
after(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

const packed = await packFreshCheckout();
scratch.push(dirname(packed.tarball));
const paths = packed.files.map((f) => f.path);
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
  peerDependencies: Record<string, string>;
};

/** The declaration files the entries name: one per entry (test/package/types.test.ts). */
const DECLARATIONS = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [] : [t.types.replace(/^\.\//, '')]));

/** What a user needs, and nothing else: code, its maps, the entries' declarations, LICENSE, README and the user docs. */
const ALLOWED = [/^package\.json$/, /^LICENSE$/, /^README\.md$/, /^docs\/(?!ARCHITECTURE\.md$)[a-z-]+\.md$/, /^docs\/tune\.svg$/, /^dist\/.+\.(js|js\.map)$/];

test('a fresh checkout packs the built package (prepack): every export, the bin and LICENSE', () => {
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    for (const file of typeof target === 'string' ? [target] : [target.types, target.default]) {
      assert.ok(paths.includes(file.replace(/^\.\//, '')), `exports["${subpath}"] names ${file}, which the tarball lacks`);
    }
  }
  for (const bin of Object.values(pkg.bin)) assert.ok(paths.includes(bin.replace(/^\.\//, '')), `the bin ${bin} is not in the tarball`);
  assert.ok(paths.includes('LICENSE'));
});

test('the tarball holds only what users need: no src/, no contributor docs, no declarations but the entries\'', () => {
  const extra = paths.filter((p) => !ALLOWED.some((re) => re.test(p)) && !DECLARATIONS.includes(p));
  assert.deepEqual(extra, [], 'files in the tarball that users do not need');
  assert.ok(paths.includes('docs/kinds.md'), 'the user docs ship');
});

test('the source maps embed their sources, since src/ does not ship', async () => {
  const maps = paths.filter((p) => p.endsWith('.js.map'));
  assert.ok(maps.length > 0);
  for (const map of maps) {
    const m = JSON.parse(await readFile(join(packed.checkout, map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    assert.equal(m.sourcesContent?.length, m.sources.length, `${map}: sources without their content`);
    assert.ok(m.sourcesContent.every((s) => typeof s === 'string'), `${map}: a source without its content`);
  }
});

test('publint finds nothing', async () => {
  const tarball = await readFile(packed.tarball);
  const { messages, pkg: linted } = await publint({ strict: true, pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) } });
  assert.deepEqual(messages.map((m) => `${m.type}: ${formatMessage(m, linted) ?? m.code}`), []);
});

test('Are The Types Wrong finds nothing, past the two findings explained here', () => {
  // --profile node16: the `node10` resolution (TypeScript's `moduleResolution:
  // node`, deprecated in TypeScript 6) ignores "exports", so it cannot reach
  // the subpaths; sluice supports the resolutions that read "exports".
  // cjs-resolves-to-esm: require() of sluice loads ES modules. That is what
  // Node does since 20.19 and 22.12 and TypeScript allows under `module:
  // nodenext`; the consumer tests below prove both. The tool predates it.
  const attw = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js');
  sh(process.execPath, [attw, packed.tarball, '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'ascii', '--no-color'], ROOT);
});

const peers = Object.fromEntries(await Promise.all(Object.keys(pkg.peerDependencies).map(async (p) => [p, await installedVersion(p)] as const)));
const consumer = await consumerProject('current', packed.tarball, { ...peers, typescript: await installedVersion('typescript'), '@types/node': await installedVersion('@types/node') });
scratch.push(consumer);

/** Runs a consumer script with this Node; returns its one JSON line. */
function runConsumer(dir: string, script: string, ...args: string[]): unknown {
  const out = sh(process.execPath, [script, ...args], dir).trim().split('\n');
  return JSON.parse(out.at(-1) ?? '');
}

const EVERY_ENTRY = { sluice: true, testing: true, prometheus: true, otel: true, worker: true, bullmq: true, dashboard: true };

test('the consumers below load every entry package.json exports', () => {
  const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
  assert.deepEqual(subpaths.map((k) => (k === '.' ? 'sluice' : k.slice(2))).sort(), Object.keys(EVERY_ENTRY).sort());
});

test('an ES module consumer imports every entry and runs thread, process and async pools', () => {
  assert.deepEqual(runConsumer(consumer, 'esm.mjs'), { results: { thread: 42, process: 42, async: 42 }, entries: EVERY_ENTRY });
});

test('a CommonJS consumer requires every entry and runs thread, process and async pools', () => {
  assert.deepEqual(runConsumer(consumer, 'cjs.cjs'), { results: { thread: 42, process: 42, async: 42 }, entries: EVERY_ENTRY });
});

test("the installed bin: --version, and `sluice run` over a file (the bundle's runner thread and line workers found)", async () => {
  const bin = join(consumer, 'node_modules/sluice', pkg.bin.sluice ?? '');
  assert.equal(sh(process.execPath, [bin, '--version'], consumer), `${pkg.version}\n`);
  await writeFile(join(consumer, 'in.jsonl'), '1\n2\n3\n');
  for (const kind of ['thread', 'process', 'async']) {
    sh(process.execPath, [bin, 'run', 'tasks.mjs', '-t', 'inc', '-i', 'in.jsonl', '-o', `out-${kind}.jsonl`, '--kind', kind, '--progress', 'none'], consumer);
    const out = (await readFile(join(consumer, `out-${kind}.jsonl`), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { line: number; result: number });
    assert.deepEqual(out.sort((a, b) => a.line - b.line).map((o) => o.result), [2, 3, 4], kind);
  }
});

for (const config of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
  test(`a TypeScript consumer type-checks against the shipped declarations (${config})`, () => {
    sh(process.execPath, [join(consumer, 'node_modules/typescript/bin/tsc'), '-p', config], consumer);
  });
}

test('the optional peers work at the lowest versions the ranges allow', async (t) => {
  const lowest = { 'prom-client': '15.0.0', '@opentelemetry/api': '1.9.0', ioredis: '5', bullmq: '6.7.0' };
  for (const [name, version] of Object.entries(lowest)) {
    assert.ok(pkg.peerDependencies[name]?.split('||').some((r) => r.trim().replace(/^\^/, '').startsWith(version)), `${name}'s range ${pkg.peerDependencies[name]} no longer starts at ${version}`);
  }
  const dir = await consumerProject('lowest', packed.tarball, lowest);
  scratch.push(dir);
  const redis = redisAvailable() ? REDIS_URL : 'none';
  if (redis === 'none') t.diagnostic(`no Redis at ${REDIS_URL}: the BullMQ round trip is skipped (.ci/run starts one)`);
  const r = runConsumer(dir, 'peers.mjs', redis) as { versions: Record<string, string>; prometheus: boolean; bullmq: unknown };
  assert.equal(r.versions['prom-client'], '15.0.0');
  assert.equal(r.versions['@opentelemetry/api'], '1.9.0');
  assert.match(r.versions.ioredis ?? '', /^5\./);
  assert.equal(r.prometheus, true);
  assert.equal(r.bullmq, redis === 'none' ? 'skipped' : 42);
});
