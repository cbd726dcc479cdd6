/**
 * `sluice tune`: runs a task over a sample at pool sizes from 1 up to twice
 * the CPU count, measures throughput and p99 latency at each, finds the knee
 * (where throughput stops rising and latency climbs), recommends a size and
 * plots the curve as SVG.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { cpuCount } from '../../sizing/cpu-count.js';
import type { CliCommand, CliIO } from '../cli-command.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { parsePositive, resolveModule } from '../run/run-options.js';
import { findKnee, type Knee } from './knee.js';
import { measure, type Measured } from './measure.js';
import { plotSvg } from './plot-svg.js';

interface TuneFlags {
  task: string;
  input: string;
  kind: string;
  max?: number;
  rounds: number;
  /** A path; false with --no-plot; undefined: tune.svg next to the input. */
  plot?: string | false;
}

export interface TuneResult {
  cpus: number;
  points: Measured[];
  knee: Knee;
}

const EXAMPLES = `
Examples:
  # sizes 1..2×CPUs over a sample, recommended size on stdout, plot to tune.svg next to sample.jsonl
  $ sluice tune ./tasks.js --task hash --input sample.jsonl

  # in-process async tasks, sizes 1..64, three passes over the sample per size
  $ sluice tune ./fetch.js -t fetchPage -i urls.jsonl --kind async --max 64 --rounds 3

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
      .addHelpText('after', EXAMPLES)
      .action(async (moduleArg: string, flags: TuneFlags) => {
        const result = await tune(moduleArg, flags, io);
        io.stdout.write(`recommended size: ${result.knee.workers} (${result.knee.reason}; ${result.cpus} CPUs)\n`);
        exit(ExitCode.Ok);
      });
  },
};

export async function tune(moduleArg: string, flags: TuneFlags, io: CliIO): Promise<TuneResult> {
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
    if (n === 1) io.stdout.write(`${pad('workers', 7)}  ${pad('tasks/s', 10)}  ${pad('p50 ms', 9)}  ${pad('p99 ms', 9)}\n`);
    points.push(p);
    const failed = p.failed > 0 ? `  (${p.failed} of ${p.tasks} failed)` : '';
    io.stdout.write(`${pad(String(n), 7)}  ${pad(p.throughput.toFixed(1), 10)}  ${pad(p.p50Ms.toFixed(2), 9)}  ${pad(p.p99Ms.toFixed(2), 9)}${failed}\n`);
    if (p.failed === p.tasks) throw new UsageError(`every run of "${flags.task}" failed at size ${n}; check the task and its input`);
  }
  const knee = findKnee(points);
  if (flags.plot !== false) {
    const path = flags.plot === undefined ? join(dirname(resolve(io.cwd, flags.input)), 'tune.svg') : resolve(io.cwd, flags.plot);
    try {
      writeFileSync(path, plotSvg({ title: `sluice tune: ${flags.task} (${flags.kind})`, points, cpus, kneeWorkers: knee.workers }));
    } catch (err) {
      throw new UsageError(`cannot write the plot to ${path}: ${(err as Error).message} (--plot <path> to put it elsewhere, --no-plot for none)`);
    }
    io.stdout.write(`plot: ${path}\n`);
  }
  return { cpus, points, knee };
}
