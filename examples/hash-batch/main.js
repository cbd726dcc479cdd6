// End-to-end run of the hash-batch example (`npm run example`): generates the
// input if absent, runs `sluice run` with one worker and with the default
// (all cores), and prints sample results, both timings and the speed-up.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { generate } from './generate.js';

/** @param {string} p */
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const cli = here('../../dist/cli/main.js');
const data = here('./data.jsonl');
const say = (/** @type {string} */ s) => process.stdout.write(`${s}\n`);
if (!existsSync(data)) say(`generated ${await generate(2000, data)}`);

function run(size, output) {
  const args = [cli, 'run', here('./tasks.js'), '--task', 'hash', '--input', data, '--output', output, '--size', size, '--fresh', '--progress', 'none'];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stderr.write(r.stderr);
  if (r.status !== 0) throw new Error(`sluice run --size ${size} exited with ${r.status}`);
  return ms;
}

const one = run('1', here('./results-size1.jsonl'));
const all = run('auto', here('./results.jsonl'));
const results = readFileSync(here('./results.jsonl'), 'utf8').trimEnd().split('\n');
say(`\n${results.length} results in examples/hash-batch/results.jsonl, e.g.:`);
for (const line of results.slice(0, 3)) say(`  ${line}`);
say(`\n--size 1:    ${(one / 1000).toFixed(2)} s`);
say(`--size auto (${availableParallelism()} workers): ${(all / 1000).toFixed(2)} s  (speed-up ×${(one / all).toFixed(2)}; a machine shared with other work shows less)`);
