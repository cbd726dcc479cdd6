// Build step after tsc (`npm run build`): one declaration file per entry
// point of package.json "exports", rolled up by rollup-plugin-dts from tsc's
// per-module declarations in .build/types. The tarball ships only these, so
// a user's editor and compiler reach the public surface and nothing else:
// no engine, wire or runtime types, no const enums (test/package/types.test.ts).
//
// Entries other than the main one import what the main entry exports from
// it ("../index.js") instead of declaring it again: a second declaration of
// a class with private members (Pool, the errors) would be a different type
// to TypeScript, and `instrumentPool(pool)` would no longer compile.
import { rollup } from 'rollup';
import ts from 'typescript';
import { dts } from 'rollup-plugin-dts';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const types = join(root, '.build/types');

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));

/** The declaration entries: every "types" of package.json "exports", as dist/... paths. */
export const entries = Object.values(pkg.exports)
  .filter((target) => typeof target === 'object')
  .map((target) => target.types.replace(/^\.\//, ''));

const main = pkg.exports['.'].types.replace(/^\.\//, '');
const mainSource = join(types, relative('dist', main));

/**
 * What the main entry re-exports, by source module: module path → [name in
 * the module, name in the main entry]. tsc writes the main entry's
 * declarations as the source has them, `export { a, type B } from './m.js'`.
 */
const mainExports = new Map();
for (const m of (await readFile(mainSource, 'utf8')).matchAll(/^export (?:type )?\{([^}]*)\} from '(\.[^']+)';$/gm)) {
  const module = resolve(dirname(mainSource), m[2].replace(/\.js$/, '.d.ts'));
  const names = m[1].split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean).map((n) => n.split(/\s+as\s+/));
  mainExports.set(module, [...(mainExports.get(module) ?? []), ...names.map(([name, alias = name]) => [name, alias])]);
}

/** Which source modules went into each entry (for the test, in .build/types-manifest.json). */
const manifest = {};

for (const entry of entries) {
  const input = join(types, relative('dist', entry));
  const output = join(root, entry);
  const bundle = await rollup({
    input,
    // Dependencies (node:*, prom-client, bullmq...) stay imports.
    external: (id) => !id.startsWith('.') && !id.startsWith('/'),
    plugins: [
      input === mainSource ? undefined : toMainEntry(output),
      dts({ respectExternal: false }),
    ],
    onwarn(warning) {
      throw new Error(`types: ${entry}: ${warning.message}`);
    },
  });
  const { output: chunks } = await bundle.generate({ format: 'es' });
  await bundle.close();
  if (chunks.length !== 1 || chunks[0].type !== 'chunk') throw new Error(`types: ${entry} rolled up into ${chunks.length} files, not one`);
  await writeFile(output, chunks[0].code);
  manifest[entry] = Object.keys(chunks[0].modules).map((id) => relative(types, id).replace(/\.d\.ts$/, '.ts'));
}
await writeFile(join(root, '.build/types-manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

// The rolled files must compile as users compile them (skipLibCheck off): a
// name the facade takes from the main entry that it does not export, or a
// declaration rollup left out, fails the build here.
const program = ts.createProgram(entries.map((e) => join(root, e)), {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
  types: ['node'],
  strict: true,
  noEmit: true,
  skipLibCheck: false,
});
const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || entries.some((e) => d.file.fileName === join(root, e)));
if (problems.length > 0) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  throw new Error(`types: the rolled-up declarations do not compile:\n${ts.formatDiagnostics(problems, host)}`);
}

/**
 * A rollup plugin for the entries other than the main one: a module the main
 * entry re-exports from is replaced by a facade that takes those names from
 * the main entry (left an import of "../index.js") and the rest from the
 * module itself, which rollup-plugin-dts then inlines as usual.
 */
function toMainEntry(output) {
  const rel = relative(dirname(output), join(root, main)).replace(/\.d\.ts$/, '.js');
  const target = rel.startsWith('.') ? rel : `./${rel}`;
  const FACADE = '\0sluice-main-facade:';
  const REAL = '?sluice-real';
  return {
    name: 'sluice-main-entry',
    resolveId(source, importer) {
      if (source === target) return { id: target, external: true };
      if (source.endsWith(REAL)) return source.slice(0, -REAL.length);
      if (importer === undefined || !source.startsWith('.')) return null;
      const resolved = resolve(dirname(importer.startsWith(FACADE) ? importer.slice(FACADE.length) : importer), source.replace(/\.js$/, '.d.ts'));
      return mainExports.has(resolved) ? FACADE + resolved : null;
    },
    load(id) {
      if (!id.startsWith(FACADE)) return null;
      const real = id.slice(FACADE.length);
      const names = mainExports.get(real).map(([name, alias]) => (name === alias ? name : `${alias} as ${name}`));
      // An explicit export wins over the star export of the same name.
      return `export * from '${real}${REAL}';\nexport { ${names.join(', ')} } from '${target}';\n`;
    },
  };
}
