/**
 * Makes the TypeScript loader the parent runs under work inside a worker
 * thread too.
 *
 * A thread runs the parent's preloads (its `--import`/`--require` flags,
 * inherited, and those of NODE_OPTIONS), but a preload's module hooks do not
 * always reach it: tsx registers its ES-module hooks from the main thread
 * only, on Node 20 and with tsx releases older than Node's support for hooks
 * in workers, so the thread could not import a `.ts` task module while the
 * parent could. Here the thread finds tsx among its preloads, however they
 * were spelled (`tsx`, `tsx/esm`, the absolute `file:` URL the `tsx` command
 * passes, a relative path), by resolving each one to the package it belongs
 * to, and registers that same tsx's hooks through its public API before the
 * task module is imported. Processes need none of this: a child process's
 * preloads run on its main thread.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

/** NODE_OPTIONS split as Node splits it: on white space, double quotes grouping, a backslash escaping inside them. */
export function splitNodeOptions(options: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quoted = false;
  for (let i = 0; i < options.length; i++) {
    const c = options[i] as string;
    if (quoted && c === '\\' && i + 1 < options.length) {
      cur += options[++i] as string;
    } else if (c === '"') {
      quoted = !quoted;
      has = true;
    } else if (!quoted && (c === ' ' || c === '\t' || c === '\n' || c === '\r')) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

const PRELOAD_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** The modules named by preload flags, in either form (`--import x`, `--import=x`). */
export function preloadSpecifiers(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    if (eq > 0 && PRELOAD_FLAGS.has(arg.slice(0, eq))) out.push(arg.slice(eq + 1));
    else if (PRELOAD_FLAGS.has(arg) && i + 1 < args.length) out.push(args[++i] as string);
  }
  return out;
}

/** The file a preload specifier names, resolved as Node resolves it (against the working directory); undefined if it does not resolve. */
function locate(spec: string, cwd: string): string | undefined {
  try {
    if (spec.startsWith('file:')) return fileURLToPath(spec);
    if (isAbsolute(spec) || spec.startsWith('./') || spec.startsWith('../')) return resolve(cwd, spec);
    return createRequire(join(cwd, 'index.js')).resolve(spec);
  } catch {
    return undefined;
  }
}

/** The root of the named package a file belongs to: the nearest package.json up the tree that has a name. */
function packageOf(file: string): { root: string; name: unknown } | undefined {
  let dir = dirname(file);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
        if (name !== undefined) return { root: dir, name };
      } catch {
        return undefined;
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The root of the tsx package among these preloads, if one of them is tsx's. */
export function tsxAmong(specifiers: readonly string[], cwd: string): string | undefined {
  for (const spec of specifiers) {
    const file = locate(spec, cwd);
    const pkg = file === undefined ? undefined : packageOf(file);
    if (pkg?.name === 'tsx') return pkg.root;
  }
  return undefined;
}

/** The preloads this thread was started with: its own flags (inherited from the parent's) and NODE_OPTIONS. */
export function threadPreloads(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  return [...preloadSpecifiers(execArgv), ...preloadSpecifiers(nodeOptions === undefined ? [] : splitNodeOptions(nodeOptions))];
}

export async function installLoaderHooks(execArgv: readonly string[], nodeOptions: string | undefined): Promise<void> {
  if (isMainThread) return;
  const root = tsxAmong(threadPreloads(execArgv, nodeOptions), process.cwd());
  if (root === undefined) return;
  // The same tsx the preload loaded, its ES-module build of the API
  // (resolved through its own exports, so no file layout is assumed).
  const cjs = createRequire(join(root, 'package.json')).resolve('tsx/esm/api');
  const mjs = cjs.replace(/\.cjs$/, '.mjs');
  const api = (await import(pathToFileURL(existsSync(mjs) ? mjs : cjs).href)) as { register: () => unknown };
  api.register();
}
