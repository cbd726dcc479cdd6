/** ModuleLoadError says how to load a TypeScript module Node refused (typeScriptAdvice, src/api/errors.ts), for library users and the CLI alike. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModuleLoadError, typeScriptAdvice } from '../../src/api/errors.js';
import { decodeError, encodeError } from '../../src/wire/error-codec.js';

function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test('an unknown ".ts" extension gets the loader advice, also after crossing the wire from a worker', () => {
  const refused = nodeError('ERR_UNKNOWN_FILE_EXTENSION', 'Unknown file extension ".ts" for /app/tasks.ts');
  for (const cause of [refused, decodeError(encodeError(refused), '(module load)')]) {
    const e = new ModuleLoadError('file:///app/tasks.ts', cause);
    assert.match(e.message, /^cannot load worker module file:\/\/\/app\/tasks\.ts: Unknown file extension "\.ts" for \/app\/tasks\.ts\. Node runs TypeScript only through a loader; .*node --import tsx app\.js or NODE_OPTIONS="--import tsx" node app\.js/);
    assert.equal(e.cause, cause);
  }
  for (const ext of ['.mts', '.cts', '.tsx']) assert.notEqual(typeScriptAdvice(nodeError('ERR_UNKNOWN_FILE_EXTENSION', `Unknown file extension "${ext}" for /a/b${ext}`)), undefined, ext);
});

test('syntax type stripping cannot run, and TypeScript under node_modules, get their own advice', () => {
  assert.match(typeScriptAdvice(nodeError('ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX', 'TypeScript enum is not supported in strip-only mode')) as string, /tsx.*--experimental-transform-types/);
  assert.match(typeScriptAdvice(nodeError('ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING', 'Stripping types is currently unsupported for files under node_modules')) as string, /node_modules; load the module through tsx/);
});

test('the advice is found through a cause chain, and takes the command lines it is given', () => {
  const wrapped = new Error('import failed', { cause: nodeError('ERR_UNKNOWN_FILE_EXTENSION', 'Unknown file extension ".ts" for /x.ts') });
  assert.match(typeScriptAdvice(wrapped, { node: 'NODE-LINE', env: 'ENV-LINE' }) as string, /e\.g\. NODE-LINE or ENV-LINE/);
});

test('other load failures get no advice', () => {
  assert.equal(typeScriptAdvice(nodeError('ERR_UNKNOWN_FILE_EXTENSION', 'Unknown file extension ".coffee" for /x.coffee')), undefined);
  assert.equal(typeScriptAdvice(nodeError('ERR_MODULE_NOT_FOUND', 'Cannot find module /x.ts')), undefined);
  assert.equal(typeScriptAdvice('a string'), undefined);
  assert.equal(new ModuleLoadError('file:///x.js', new Error('nope')).message, 'cannot load worker module file:///x.js: nope');
});
