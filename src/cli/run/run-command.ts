/** `sluice run`: the flags, their help, and the glue from argv to the runner. */

import { Option, type Command } from 'commander';
import type { CliCommand, CliIO } from '../cli-command.js';
import { parseDashboard } from '../dashboard.js';
import { Interrupts } from '../interrupts.js';
import { DEFAULT_QUEUE, parseMetrics, parseNonNegative, parsePositive, parseSize, toRunConfig, type RunFlags } from './run-options.js';
import { runJobInThread } from './runner-thread.js';
import { formatSummary } from './summary.js';

const EXAMPLES = `
Examples:
  # hash every record of data.jsonl on all cores, results to out.jsonl
  $ sluice run ./tasks.js --task hash --input data.jsonl --output out.jsonl

  # from stdin, 4 workers, 3 retries, results in input order
  $ cat data.jsonl | sluice run ./tasks.js -t hash -i - -o out.jsonl --size 4 --retries 3 --ordered

  # per-task timeout, custom dead-letter file, Prometheus metrics
  $ sluice run ./tasks.js -t hash -i data.jsonl -o out.jsonl --timeout 5000 --dlq failed.jsonl --metrics 127.0.0.1:9464

  # one batch across many machines, each running: sluice serve ./tasks.js --queue batch --redis redis://10.0.0.5:6379
  $ sluice run ./tasks.js -t hash -i data.jsonl -o out.jsonl --redis redis://10.0.0.5:6379 --redis-queue batch

Output: one line per input line, {"line":N,"id":<input.id if any>,"ok":true,"result":...}.
Failures (bad JSON, tasks failing after retries) go to the dead-letter file.
Killed or interrupted? Run the same command again: it resumes from <output>.journal.
Exit codes: 0 all ok, 1 some lines dead-lettered, 2 usage error, 3 module failed to load, 130 interrupted.
`;

export const runCommand: CliCommand = {
  register(program: Command, io: CliIO, exit: (code: number) => void): void {
    program
      .command('run')
      .description('run a task of <module> over every line of a JSONL input, streaming results to a JSONL output')
      .argument('<module>', 'task module (path relative to the current directory, or a file: URL); each exported function is a task')
      .requiredOption('-t, --task <name>', 'exported function to run for each line')
      .requiredOption('-i, --input <path>', "JSONL input file, or '-' for stdin")
      .requiredOption('-o, --output <path>', 'JSONL results file')
      .addOption(new Option('--kind <kind>', 'execution model').choices(['thread', 'process', 'async']).default('thread'))
      .option('--size <n|auto>', 'number of workers', parseSize, 'auto')
      .option('--allow-large-size', 'accept a --size above the per-kind bound (threads: 8 × CPUs, at least 64; processes: 4 × CPUs, at least 32; async: 10000)')
      .option('--queue <n>', 'lines that may wait for a worker; lines in flight are at most queue + size', parsePositive('--queue'), DEFAULT_QUEUE)
      .option('--retries <n>', 'retries of a failed task, with exponential backoff', parseNonNegative('--retries'), 0)
      .option('--retry-delay <ms>', 'backoff before the first retry (doubles each time)', parseNonNegative('--retry-delay'), 100)
      .option('--timeout <ms>', 'running-time limit of each task', parsePositive('--timeout'))
      .option('--dlq <path>', 'dead-letter file (default: <output>.dlq.jsonl)')
      .option('--metrics <host:port>', 'serve Prometheus metrics at http://host:port/metrics', parseMetrics)
      .option('--dashboard [host:port]', 'serve a live dashboard (default 127.0.0.1, a free port; the URL with its token is printed)', parseDashboard)
      .option('--dashboard-show-data', 'show task inputs of dead letters on the dashboard (hidden by default)')
      .option('--ordered', 'write results in input order (bounded reorder buffer)')
      .option('--fresh', 'ignore an existing journal and start over')
      .addOption(new Option('--progress <mode>', 'progress display: bar on a terminal, plain status lines otherwise').choices(['auto', 'bar', 'plain', 'none']).default('auto'))
      .option('--status-interval <ms>', 'interval of plain status lines', parsePositive('--status-interval'), 5000)
      .option('--redis <url>', 'run the lines on the `sluice serve` processes of --redis-queue (redis:// or rediss://, user:password@ accepted); lines in Redis at once are at most --queue + --size')
      .option('--redis-queue <name>', 'BullMQ queue served by `sluice serve` (with --redis)')
      .addHelpText('after', EXAMPLES)
      .action(async (moduleArg: string, flags: RunFlags) => {
        const config = toRunConfig(moduleArg, flags, io.cwd);
        const interrupts = new Interrupts();
        const unlisten = interrupts.listenToProcess();
        try {
          const summary = await runJobInThread(config, { stdin: io.stdin, stderr: io.stderr, interrupts });
          io.stderr.write(formatSummary(summary));
          exit(summary.exitCode);
        } finally {
          unlisten();
        }
      });
  },
};
