/**
 * Makes a TypeScript loader the parent runs under work inside the worker too.
 *
 * Workers inherit the parent's flags (`--import tsx`), but on Node 20 a
 * loader's `--import` preload does not install its module hooks in a worker
 * thread (tsx registers them on the main thread only), so a worker could not
 * import a `.ts` task module. When the flags name tsx, the worker registers
 * tsx's hooks itself through its public API before importing the task module.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const TSX_SPECIFIERS = new Set(['tsx', 'tsx/esm']);

export function importedLoaders(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (arg === '--import' || arg === '--loader' || arg === '--experimental-loader') {
      const next = execArgv[i + 1];
      if (next !== undefined) out.push(next);
      i++;
    } else if (arg.startsWith('--import=') || arg.startsWith('--loader=') || arg.startsWith('--experimental-loader=')) {
      out.push(arg.slice(arg.indexOf('=') + 1));
    }
  }
  return out;
}

export async function installLoaderHooks(execArgv: readonly string[]): Promise<void> {
  // Child processes run their `--import` preloads themselves; only threads need this.
  if (isMainThread) return;
  if (!importedLoaders(execArgv).some((s) => TSX_SPECIFIERS.has(s))) return;
  // Resolve tsx as the user's project sees it (the working directory, where
  // `--import tsx` found it), taking its ES-module build; else from sluice's own location.
  let spec = 'tsx/esm/api';
  try {
    const cjs = createRequire(pathToFileURL(`${process.cwd()}/`)).resolve('tsx/esm/api');
    spec = pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
  } catch {
    // not installed under the working directory
  }
  const api = (await import(spec)) as { register: () => unknown };
  api.register();
}
