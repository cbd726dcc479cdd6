/**
 * One line that says why a task module did not load, for exit code 3:
 * a syntax error with its file:line:column, a TypeScript module Node
 * refused with the advice ModuleLoadError carries (api/errors.ts) in the
 * CLI's own command lines, otherwise the loader's own message.
 * The pool's ModuleLoadError names the module the workers load (for
 * `sluice run`, a wrapper); this names the user's.
 */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { typeScriptAdvice, type LoaderExamples } from '../api/errors.js';

/** The CLI's command lines in the TypeScript advice (docs/cli.md shows them, tested in test/runtime/typescript-loaders.test.ts). */
const CLI_EXAMPLES: LoaderExamples = { node: 'node --import tsx ./node_modules/.bin/sluice ...', env: 'NODE_OPTIONS="--import tsx" sluice ...' };

function displayPath(url: string): string {
  try {
    return url.startsWith('file:') ? fileURLToPath(url) : url;
  } catch {
    return url;
  }
}

/**
 * Where V8 put a module's syntax error: the stack of an ES module's
 * SyntaxError starts `file:///path:LINE`, the source line, then a caret
 * under the column.
 */
export function syntaxLocation(stack: string): string | undefined {
  const lines = stack.split('\n');
  const m = /^((?:file:\/\/|\/|[A-Za-z]:\\).*):(\d+)$/.exec(lines[0] ?? '');
  if (m === null) return undefined;
  const caret = (lines[2] ?? '').indexOf('^');
  return `${displayPath(m[1] as string)}:${m[2]}${caret === -1 ? '' : `:${caret + 1}`}`;
}

/**
 * Where a module graph's syntax error is. A dynamic import() rejects with a
 * bare SyntaxError (no file, no line); a static import of the same URL in a
 * child process makes Node print the file, the line and a caret under the
 * column, whichever module of the graph it is in. Nothing runs in the child:
 * a graph with a syntax error fails before any of its modules is evaluated.
 */
export function locateSyntaxError(moduleUrl: string): string | undefined {
  const loaders = process.execArgv.filter((a, i, all) => a.startsWith('--import') || a.startsWith('--loader') || a.startsWith('--experimental-loader') || /^--(import|loader|experimental-loader)$/.test(all[i - 1] ?? ''));
  const r = spawnSync(process.execPath, [...loaders, '--input-type=module', '-e', `import ${JSON.stringify(moduleUrl)};`], { encoding: 'utf8', timeout: 10_000 });
  return typeof r.stderr === 'string' ? syntaxLocation(r.stderr) : undefined;
}

export function describeLoadError(moduleUrl: string, err: unknown): string {
  const path = displayPath(moduleUrl);
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const advice = typeScriptAdvice(err, CLI_EXAMPLES);
  // Node's "Unknown file extension" adds nothing to the advice; its other refusals name the syntax it cannot run.
  if (advice !== undefined) return `cannot load ${path}: ${e.code === 'ERR_UNKNOWN_FILE_EXTENSION' ? '' : `${message}. `}${advice}`;
  if (e.name === 'SyntaxError') {
    const at = (typeof e.stack === 'string' ? syntaxLocation(e.stack) : undefined) ?? locateSyntaxError(moduleUrl);
    if (at !== undefined) return `syntax error in ${at}: ${message}`;
  }
  return `cannot load ${path}: ${message}`;
}
