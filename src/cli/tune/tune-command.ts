/**
 * `sluice tune`: runs a task over a sample at pool sizes from 1 up to twice
 * the CPU count, measures throughput and p99 latency at each, finds the knee
 * (where throughput stops rising and latency climbs), measures the task with
 * no worker pool too (baselines.ts), recommends a size or no pool, and plots
 * the curve as SVG.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { cpuCount } from '../../sizing/cpu-count.js';
import type { CliCommand, CliIO } from '../cli-command.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { parsePositive, resolveModule } from '../run/run-options.js';
import type { BaselineMeasured, BaselineSkipped } from './baselines.js';
import type { Knee } from './knee.js';
import type { Measured } from './measure.js';
import { plotSvg } from './plot-svg.js';
import { recommend, type Recommendation } from './recommend.js';

interface TuneFlags {
  task: string;
  input: string;
  kind: string;
  max?: number;
  rounds: number;
  /** A path; false with --no-plot; undefined: tune.svg next to the input. */
  plot?: string | false;
  /** false with --no-baselines: measure pool sizes only. */
  baselines?: boolean;
}

export interface TuneResult {
  cpus: number;
  points: Measured[];
  baselines: (BaselineMeasured | BaselineSkipped)[];
  knee: Knee;
  recommendation: Recommendation;
}

const EXAMPLES = `
Examples:
  # sizes 1..2×CPUs over a sample, recommended size on stdout, plot to tune.svg next to sample.jsonl
  $ sluice tune ./tasks.js --task hash --input sample.jsonl

  # in-process async tasks, sizes 1..64, three passes over the sample per size
  $ sluice tune ./fetch.js -t fetchPage -i urls.jsonl --kind async --max 64 --rounds 3

Besides the pool sizes, the task also runs with no worker pool: in this process
in a plain loop, with Promise.all over batches of 64, and on kind 'async'
(size 64). When the size at the knee does not beat the best of those by more
than 5%, the recommendation is the simplest of them that comes within 5% ("a
worker pool does not pay"). --no-baselines skips
them (for a module that must not run in this process).

The sample should take at least a second at size 1: short runs are noisy.
Close other work while tuning; a busy machine moves the knee.
`;

/** The sample: one JSON value per non-empty line. */
export function readSample(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read input ${path}: ${(err as Error).message}`);
  }
  const inputs: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line.length === 0) continue;
    try {
      inputs.push(JSON.parse(line));
    } catch {
      throw new UsageError(`input line ${i + 1} is not JSON: ${line.slice(0, 60)}`);
    }
  }
  if (inputs.length === 0) throw new UsageError(`input ${path} has no lines`);
  return inputs;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

/** The first column: a pool size, or a baseline's label. */
const FIRST = 24;

function row(first: string, p: { throughput: number; p50Ms: number; p99Ms: number; failed: number; tasks: number }): string {
  const failed = p.failed > 0 ? `  (${p.failed} of ${p.tasks} failed)` : '';
  return `${pad(first, FIRST)}  ${pad(p.throughput.toFixed(1), 10)}  ${pad(p.p50Ms.toFixed(2), 9)}  ${pad(p.p99Ms.toFixed(2), 9)}${failed}\n`;
}

export const tuneCommand: CliCommand = {
  register(program: Command, io: CliIO, exit: (code: number) => void): void {
    program
      .command('tune')
      .description('measure throughput and p99 of a task at pool sizes 1..2×CPUs, find the knee and recommend a size')
      .argument('<module>', 'task module (path relative to the current directory, or a file: URL)')
      .requiredOption('-t, --task <name>', 'exported function to run')
      .requiredOption('-i, --input <path>', 'JSONL sample: one task input per line')
      .addOption(new Option('--kind <kind>', 'execution model').choices(['thread', 'process', 'async']).default('thread'))
      .option('--max <n>', 'largest pool size to try (default: 2 × the CPU count)', parsePositive('--max'))
      .option('--rounds <n>', 'passes over the sample at each size', parsePositive('--rounds'), 1)
      .option('--plot <path>', 'where to write the SVG plot of throughput and p99 against workers (default: tune.svg next to the input)')
      .option('--no-plot', 'write no plot')
      .option('--no-baselines', "measure pool sizes only, not the task without a pool (in this process, and on kind 'async')")
      .addHelpText('after', EXAMPLES)
      .action(async (moduleArg: string, flags: TuneFlags) => {
        const result = await tune(moduleArg, flags, io);
        io.stdout.write(`${result.recommendation.line}\n`);
        exit(ExitCode.Ok);
      });
  },
};

export async function tune(moduleArg: string, flags: TuneFlags, io: CliIO): Promise<TuneResult> {
  // The pool loads when a command needs it: the CLI's start (and `sluice run`'s main thread, which never runs a pool) stays light.
  const [{ measure }, { measureBaselines }] = await Promise.all([import('./measure.js'), import('./baselines.js')]);
  const moduleUrl = resolveModule(moduleArg, io.cwd);
  if (flags.task.length === 0) throw new UsageError('--task must be a task name');
  const inputs = readSample(resolve(io.cwd, flags.input));
  const cpus = cpuCount();
  const max = flags.max ?? 2 * cpus;
  const config = { moduleUrl, kind: flags.kind, task: flags.task, inputs, rounds: flags.rounds };
  const points: Measured[] = [];
  for (let n = 1; n <= max; n++) {
    // The first size also checks the module and the task: the table starts only once they are known good.
    const p = await measure(config, n);
    if (n === 1) io.stdout.write(`${pad('workers', FIRST)}  ${pad('tasks/s', 10)}  ${pad('p50 ms', 9)}  ${pad('p99 ms', 9)}\n`);
    points.push(p);
    io.stdout.write(row(String(n), p));
    if (p.failed === p.tasks) throw new UsageError(`every run of "${flags.task}" failed at size ${n}; check the task and its input`);
  }
  const baselines = flags.baselines === false ? [] : await measureBaselines(config);
  for (const b of baselines) io.stdout.write('skipped' in b ? `${pad(b.label, FIRST)}  skipped: ${b.skipped}\n` : row(b.label, b));
  const measured = baselines.filter((b): b is BaselineMeasured => !('skipped' in b));
  const recommendation = recommend(points, measured, cpus);
  const knee = recommendation.knee;
  if (flags.plot !== false) {
    const path = flags.plot === undefined ? join(dirname(resolve(io.cwd, flags.input)), 'tune.svg') : resolve(io.cwd, flags.plot);
    try {
      writeFileSync(
        path,
        plotSvg({ title: `sluice tune: ${flags.task} (${flags.kind})`, points, cpus, kneeWorkers: knee.workers, baselines: measured, recommended: recommendation.pool ? undefined : recommendation.baseline.id }),
      );
    } catch (err) {
      throw new UsageError(`cannot write the plot to ${path}: ${(err as Error).message} (--plot <path> to put it elsewhere, --no-plot for none)`);
    }
    io.stdout.write(`plot: ${path}\n`);
  }
  return { cpus, points, baselines, knee, recommendation };
}
