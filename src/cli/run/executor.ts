/**
 * Where `sluice run` sends its blocks of lines. The runner knows only this
 * interface, so another executor (a Redis queue feeding remote workers, say)
 * can replace the local pool without touching the reading, writing,
 * journaling and retry logic.
 */

import type { Pool } from '../../pool.js';
import { openTaskPool } from '../open-pool.js';
import { BLOCK_TASK, runBlock, type BlockContext, type BlockResult, type LineBlock, type LineProgress } from './line-block.js';
import { LINE_WORKER } from '../../entries.js';
import { inheritedExecArgv } from '../../worker/exec-argv.js';
import { collectTasks } from '../../runtime/collect-tasks.js';

/**
 * The line workers' young generation, MB. Parsing and stringifying lines
 * makes short-lived garbage at a high rate, and left alone V8 grows each
 * worker's young generation towards 48 MB as a run goes on: memory that
 * buys no speed. With 8 MB a run's peak RSS stays flat from 100k lines to
 * millions, and in trials the workers spent less CPU, not more (a small
 * young generation stays in cache; a line's objects die long before a
 * scavenge). docs/cli.md, "Memory", has the figures.
 */
export const LINE_WORKER_YOUNG_MB = 8;

export interface BlockExecutor {
  /**
   * Runs every line of `block`. Resolves with their outcomes; rejects only
   * when the block as a whole failed (its worker crashed, it timed out, the
   * executor was terminated), in which case no line of it is done.
   * `onProgress` gets the progress its lines' tasks report (`ctx.progress`),
   * each naming its line.
   */
  runBlock(block: LineBlock, timeoutMs: number | undefined, onProgress?: (report: LineProgress) => void): Promise<BlockResult>;
  /** Workers the blocks are spread over (sizes the blocks). */
  readonly size: number;
  /** For --metrics. */
  readonly pool: Pool | undefined;
  /** Appended to the progress line (the Redis executor: servers taking work, or Redis being waited for). */
  note?(): string;
  /** Waits for every block sent to finish, then releases the workers. */
  close(): Promise<void>;
  /** Stops at once; blocks in flight reject. */
  terminate(): Promise<void>;
}

export interface PoolExecutorConfig {
  kind: string;
  moduleUrl: string;
  task: string;
  size: number | undefined;
  /** Blocks that may wait for a worker. */
  queue: number;
}

/** The local pool: threads and processes load line-worker.ts; kind 'async' runs blocks in this process. */
export async function openPoolExecutor(c: PoolExecutorConfig): Promise<BlockExecutor> {
  const options: Record<string, unknown> = { queue: { capacity: c.queue, overflow: 'wait' }, deadLetter: false };
  if (c.kind === 'thread') options.resourceLimits = { maxYoungGenerationSizeMb: LINE_WORKER_YOUNG_MB };
  // A process takes the flag instead; V8's young generation is three semi-spaces.
  else if (c.kind === 'process') options.execArgv = [...inheritedExecArgv(), `--max-semi-space-size=${Math.ceil(LINE_WORKER_YOUNG_MB / 3)}`];
  if (c.size !== undefined) options.size = c.size;
  const workerModule = new URL(LINE_WORKER);
  workerModule.searchParams.set('module', c.moduleUrl);
  workerModule.searchParams.set('task', c.task);
  const pool = await openTaskPool(
    {
      kind: c.kind,
      moduleUrl: c.moduleUrl,
      task: c.task,
      workerModule: workerModule.href,
      inProcessTasks: (ns) => {
        // Found as the pool finds tasks: a CommonJS module (or one a loader compiled to CommonJS) has them under `default`.
        const task = collectTasks(ns).find(([name]) => name === c.task)?.[1];
        return task !== undefined ? { ...ns, [BLOCK_TASK]: (block: LineBlock, ctx: BlockContext) => runBlock(task, c.task, block, ctx) } : ns;
      },
    },
    options,
  );
  const size = Math.max(1, pool.stats().targetSize);
  return {
    size,
    pool,
    runBlock: (block, timeoutMs, onProgress) =>
      pool.run(BLOCK_TASK, block, {
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(onProgress !== undefined ? { onProgress: onProgress as (value: unknown) => void } : {}),
      }) as Promise<BlockResult>,
    close: () => pool.close(),
    terminate: () => pool.terminate(),
  };
}
