/**
 * `sluice serve`: consume a BullMQ queue into a local pool until SIGTERM or
 * SIGINT. The first signal drains (stop fetching, finish the jobs in hand
 * within --grace, then close); past the grace, or at a second signal, running
 * tasks are aborted and their jobs go back to the queue. bullmq is loaded only
 * when this command runs: the rest of the CLI works without it.
 */

import { Option, type Command } from 'commander';
import type { CliCommand, CliIO } from '../cli-command.js';
import { ExitCode, ModuleLoadFailure, UsageError } from '../exit-codes.js';
import { dashboardFlag, parseDashboard, startServeDashboard, type DashboardAddress } from '../dashboard.js';
import { Interrupts } from '../interrupts.js';
import { parseMetrics, parsePositive, parseNonNegative, parseSize, resolveModule } from '../run/run-options.js';
import { serveText, startMetricsServer, type MetricsAddress, type MetricsServer } from '../metrics-server.js';
import { InvalidOptionError, ModuleLoadError } from '../../api/errors.js';

interface ServeFlags {
  queue: string;
  redis: string;
  kind: 'thread' | 'process' | 'async';
  size: number | 'auto';
  grace: number;
  prefix?: string;
  lockDuration?: number;
  stalledInterval?: number;
  timeout?: number;
  maxTasks?: number;
  dashboard?: DashboardAddress | true;
  metrics?: MetricsAddress;
}

const EXAMPLES = `
Examples:
  # serve queue "render" with 4 worker threads, Redis on localhost
  $ sluice serve ./tasks.js --queue render --size 4

  # another machine, a remote Redis, 60 s to drain on SIGTERM
  $ sluice serve ./tasks.js --queue render --redis redis://10.0.0.5:6379 --grace 60000

Producers add plain BullMQ jobs (new Queue(name).add('<task>', input): the job's name is the task,
its data the input, the task's output its returnvalue), or submit with createClient({ connection, queue })
from 'sluice/bullmq' for error classes and sluice's retry policy (docs/bullmq.md).
Prints "ready" on stderr once it is fetching jobs. SIGTERM/SIGINT: drain within --grace, then exit 0;
a second signal stops at once (running jobs go back to the queue).
Exit codes: 0 stopped, 2 usage error (or bullmq not installed), 3 module failed to load.
`;

export const serveCommand: CliCommand = {
  register(program: Command, io: CliIO, exit: (code: number) => void): void {
    program
      .command('serve')
      .description('consume a BullMQ queue (Redis) into a local worker pool running the tasks of <module>')
      .argument('<module>', 'task module (path relative to the current directory, or a file: URL); each exported function is a task')
      .requiredOption('-q, --queue <name>', 'BullMQ queue name')
      .option('--redis <url>', 'Redis URL', 'redis://127.0.0.1:6379')
      .addOption(new Option('--kind <kind>', 'execution model').choices(['thread', 'process', 'async']).default('thread'))
      .option('--size <n|auto>', 'number of workers = jobs held at once', parseSize, 'auto')
      .option('--grace <ms>', 'on SIGTERM, time to finish the jobs in hand before aborting them', parseNonNegative('--grace'), 30_000)
      .option('--timeout <ms>', 'running-time limit of each job; a thread or process running past it is replaced, even in a synchronous loop', parsePositive('--timeout'))
      .option('--max-tasks <n>', 'replace each worker after it has run this many jobs (recycling)', parsePositive('--max-tasks'))
      .option('--prefix <prefix>', 'BullMQ key prefix')
      .option('--lock-duration <ms>', 'BullMQ job lock duration (a dead server’s jobs are taken back after it)', parsePositive('--lock-duration'))
      .option('--stalled-interval <ms>', 'how often to look for jobs of dead servers', parsePositive('--stalled-interval'))
      .option('--metrics <host:port>', 'serve Prometheus metrics at http://host:port/metrics (port 0 picks one; the URL is printed)', parseMetrics)
      .option('--dashboard [host:port]', 'serve a live dashboard (default 127.0.0.1, a free port; the URL with its token is printed)', parseDashboard)
      .addHelpText('after', EXAMPLES)
      .action(async (moduleArg: string, flags: ServeFlags) => {
        const moduleUrl = resolveModule(moduleArg, io.cwd);
        const dashboard = dashboardFlag(flags.dashboard, false);
        let bull: typeof import('../../bullmq/index.js');
        try {
          bull = await import('../../bullmq/index.js');
        } catch (err) {
          throw new UsageError(`sluice serve needs the optional peer dependencies bullmq and ioredis (npm install bullmq ioredis): ${(err as Error).message}`, { cause: err });
        }
        const pool: Record<string, unknown> = { kind: flags.kind };
        if (flags.size !== 'auto') pool.size = flags.size;
        if (flags.timeout !== undefined) pool.timeoutMs = flags.timeout;
        if (flags.maxTasks !== undefined) pool.recycle = { maxTasks: flags.maxTasks };
        if (flags.kind === 'async') {
          try {
            pool.tasks = await import(moduleUrl);
          } catch (err) {
            throw new ModuleLoadFailure(`cannot load ${moduleUrl}: ${(err as Error).message}`, { cause: err });
          }
        } else {
          pool.module = moduleUrl;
        }
        const interrupts = new Interrupts();
        const unlisten = interrupts.listenToProcess();
        let server: InstanceType<typeof bull.Server>;
        try {
          server = await bull.serve({
            connection: flags.redis,
            queue: flags.queue,
            pool: pool as never,
            ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
            ...(flags.lockDuration !== undefined ? { lockDurationMs: flags.lockDuration } : {}),
            ...(flags.stalledInterval !== undefined ? { stalledIntervalMs: flags.stalledInterval } : {}),
          });
        } catch (err) {
          unlisten();
          if (err instanceof ModuleLoadError) throw new ModuleLoadFailure(err.message, { cause: err });
          if (err instanceof InvalidOptionError) throw new UsageError(err.message, { cause: err });
          throw err;
        }
        server.on('error', (err: Error) => io.stderr.write(`sluice serve: ${err.message}\n`));
        let metrics: MetricsServer | undefined;
        if (flags.metrics !== undefined) {
          const at = flags.metrics;
          try {
            metrics = await startMetricsServer(at, () => serveText(server.pool.name, flags.queue, server.pool.stats(), server.stats()));
          } catch (err) {
            unlisten();
            await server.close({ timeoutMs: 0 });
            throw err;
          }
          io.stderr.write(`sluice serve: metrics on ${metrics.url}\n`);
        }
        const page = dashboard === undefined ? undefined : await startServeDashboard(server, dashboard, io.stderr, flags.queue).catch(async (err: unknown) => {
          unlisten();
          await metrics?.close();
          await server.close({ timeoutMs: 0 });
          throw err;
        });
        io.stderr.write(`sluice serve: ready: queue "${flags.queue}", ${server.concurrency} ${flags.kind} worker(s), pid ${process.pid}\n`);
        try {
          await new Promise<void>((resolve) => {
            interrupts.on('interrupt', (count, signal) => {
              const timeoutMs = count === 1 ? flags.grace : 0;
              io.stderr.write(`sluice serve: ${signal}: ${count === 1 ? `draining (grace ${timeoutMs} ms)` : 'stopping now'}\n`);
              void server.close({ timeoutMs }).then(resolve, (err: unknown) => {
                io.stderr.write(`sluice serve: close failed: ${String(err)}\n`);
                resolve();
              });
            });
          });
          await page?.close();
          await metrics?.close();
          const s = server.stats();
          io.stderr.write(`sluice serve: stopped: ${s.completed} completed, ${s.failed} failed, ${s.deadLettered} dead-lettered\n`);
          exit(ExitCode.Ok);
        } finally {
          unlisten();
        }
      });
  },
};
