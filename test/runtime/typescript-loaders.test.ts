/**
 * TypeScript task modules load in thread and process workers whenever the
 * program itself can load TypeScript, however tsx was loaded (its flag, the
 * NODE_OPTIONS variable, the tsx command), and `sluice run` does with the
 * command lines docs/cli.md shows. Without a loader a `.ts` module fails
 * with ModuleLoadError saying how to load it, or, on a Node that strips
 * types itself, loads when types are all it has. Each case is a child
 * process running a small program (test/fixtures/ts-pool.ts) or the CLI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIST = pathToFileURL(join(ROOT, 'dist', 'index.js')).href;
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
/** The program as TypeScript source (run under tsx) and compiled (run by plain node). */
const PROGRAM_TS = join(ROOT, 'test', 'fixtures', 'ts-pool.ts');
const PROGRAM_JS = fileURLToPath(new URL('../fixtures/ts-pool.js', import.meta.url));
/** Uses an enum: only a transforming loader (tsx) runs it. */
const TYPED = join(ROOT, 'test', 'fixtures', 'typed-tasks.ts');
/** Types only: Node's own type stripping runs it too. */
const ERASABLE = join(ROOT, 'test', 'fixtures', 'erasable-tasks.ts');
const TSX_COMMAND = join(ROOT, 'node_modules', '.bin', 'tsx');
/** This Node strips types itself (22.18+, 23.6+, or started with --experimental-strip-types). */
const STRIPS = Boolean((process.features as { typescript?: unknown }).typescript);

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs this Node with `args`; NODE_OPTIONS is exactly `nodeOptions` (none when undefined). */
async function node(args: string[], nodeOptions?: string): Promise<Exit> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  if (nodeOptions !== undefined) env.NODE_OPTIONS = nodeOptions;
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** The ways a program runs under tsx: the script and its arguments in, this Node's argv and NODE_OPTIONS out. */
const LAUNCHES: Record<string, (script: string, args: string[]) => [string[], string | undefined]> = {
  'node --import tsx': (script, args) => [['--import', 'tsx', script, ...args], undefined],
  'NODE_OPTIONS="--import tsx"': (script, args) => [[script, ...args], '--import tsx'],
  // The tsx command starts this same Node with its loader given by absolute file: URL.
  'the tsx command': (script, args) => [[TSX_COMMAND, script, ...args], undefined],
};

interface Outcome {
  ok?: unknown;
  code?: string;
  message?: string;
}

function outcome(r: Exit): Outcome {
  assert.equal(r.code, 0, r.stderr);
  const last = r.stdout.trim().split('\n').at(-1) as string;
  return JSON.parse(last) as Outcome;
}

describe('a TypeScript task module in a program run under tsx', { concurrency: 2 }, () => {
  for (const [how, launch] of Object.entries(LAUNCHES)) {
    for (const kind of ['thread', 'process']) {
      test(`${kind} workers load it: ${how}`, async () => {
        const [args, nodeOptions] = launch(PROGRAM_TS, [DIST, kind, pathToFileURL(TYPED).href]);
        assert.deepEqual(outcome(await node(args, nodeOptions)), { ok: { shape: 'square', area: 9 } });
      });
    }
  }
});

describe('a TypeScript task module in a program without a loader', { concurrency: 2 }, () => {
  for (const kind of ['thread', 'process']) {
    test(`${kind}: TypeScript syntax beyond types fails with ModuleLoadError saying how to load it`, async () => {
      const r = outcome(await node([PROGRAM_JS, DIST, kind, pathToFileURL(TYPED).href]));
      assert.equal(r.code, 'ERR_SLUICE_MODULE_LOAD');
      if (STRIPS) assert.match(r.message as string, /enum is not supported.*type stripping only erases types.*node --import tsx app\.js.*NODE_OPTIONS="--import tsx".*--experimental-transform-types/);
      else assert.match(r.message as string, /Unknown file extension "\.ts".*Node runs TypeScript only through a loader; .*node --import tsx app\.js or NODE_OPTIONS="--import tsx" node app\.js/);
    });

    test(`${kind}: a module of types only ${STRIPS ? 'loads through Node’s own type stripping' : 'fails with the advice (this Node does not strip types)'}`, async () => {
      const r = outcome(await node([PROGRAM_JS, DIST, kind, pathToFileURL(ERASABLE).href]));
      if (STRIPS) assert.deepEqual(r, { ok: { area: 9 } });
      else {
        assert.equal(r.code, 'ERR_SLUICE_MODULE_LOAD');
        assert.match(r.message as string, /Node runs TypeScript only through a loader; .*--import tsx/);
      }
    });
  }
});

describe('sluice run on a TypeScript task module, as docs/cli.md shows it', { concurrency: 2 }, () => {
  const run = async (t: { after(fn: () => void): void }, launch: (args: string[]) => [string[], string | undefined], kind: string): Promise<{ exit: Exit; out: string }> => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-ts-cli-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const tasks = join(dir, 'tasks.ts');
    writeFileSync(tasks, readFileSync(TYPED));
    writeFileSync(join(dir, 'in.jsonl'), '{"side":3}\n');
    const out = join(dir, 'out.jsonl');
    const [args, nodeOptions] = launch(['run', tasks, '-t', 'area', '-i', join(dir, 'in.jsonl'), '-o', out, '--kind', kind, '--progress', 'none']);
    return { exit: await node(args, nodeOptions), out };
  };
  const cliLaunches: Record<string, (args: string[]) => [string[], string | undefined]> = {
    'node --import tsx ./node_modules/.bin/sluice run ...': (args) => [['--import', 'tsx', CLI, ...args], undefined],
    'NODE_OPTIONS="--import tsx" sluice run ...': (args) => [[CLI, ...args], '--import tsx'],
    'npx tsx ./node_modules/.bin/sluice run ...': (args) => [[TSX_COMMAND, CLI, ...args], undefined],
  };
  for (const [how, launch] of Object.entries(cliLaunches)) {
    // async: the task module loads on the runner thread (src/cli/run/runner-entry.ts), which the loader must reach too.
    for (const kind of ['thread', 'process', 'async']) {
      test(`${how} (--kind ${kind})`, async (t) => {
        const { exit, out } = await run(t, launch, kind);
        assert.equal(exit.code, 0, exit.stderr);
        assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { line: 1, ok: true, result: { shape: 'square', area: 9 } });
      });
    }
  }

  test('without a loader: exit 3 and the advice with the CLI’s command lines', async (t) => {
    const { exit } = await run(t, (args) => [[CLI, ...args], undefined], 'thread');
    assert.equal(exit.code, 3, exit.stderr);
    assert.match(exit.stderr, /^sluice: cannot load .*tasks\.ts: .*node --import tsx \.\/node_modules\/\.bin\/sluice \.\.\. or NODE_OPTIONS="--import tsx" sluice \.\.\./);
  });
});
