/**
 * `sluice run --redis <url> --redis-queue <name>`: the lines of one run are
 * executed by any number of `sluice serve` processes on that queue, while
 * this process stays the coordinator: it reads the input, writes the output,
 * the dead-letter file and the journal exactly as a local run does.
 *
 * The runner sees a BlockExecutor like the local pool's (executor.ts): each
 * block's lines are parsed here and sent at once, one job per line, through
 * src/bullmq/run-queue.ts, and their outcomes come back as the block's
 * result. So the window, the journal, resume, --ordered, progress and exit
 * codes are the local run's own, and the lines in Redis at once are at most
 * the window (--queue + --size). A line's job is named by the run and the
 * line number, which is what makes a restarted coordinator find its jobs
 * again instead of adding them twice.
 *
 * Retries are BullMQ's (`attempts` = --retries + 1, exponential backoff from
 * --retry-delay), on whichever server is free: a failed line comes back
 * final, dead-lettered here with its attempt count, never handed back to the
 * runner (its job id is taken: running it again would only find the failure).
 */

import { statSync } from 'node:fs';
import { ErrorCodes } from '../../api/errors.js';
import type { RunQueue } from '../../bullmq/run-queue.js';
import { availableCpus } from '../../sizing/cpu-count.js';
import { UsageError } from '../exit-codes.js';
import type { BlockExecutor } from './executor.js';
import { deadRecord, lineError, okRecord, unwritable, type BlockResult, type LineBlock, type LineProgress } from './line-block.js';
import { formatDuration } from './progress.js';
import type { RunConfig } from './run-config.js';

export interface RedisRunOptions {
  url: string;
  queue: string;
}

export async function openRedisExecutor(c: RunConfig & { redis: RedisRunOptions }): Promise<BlockExecutor> {
  let bull: typeof import('../../bullmq/run-queue.js');
  try {
    bull = await import('../../bullmq/run-queue.js');
  } catch (err) {
    throw new UsageError(`sluice run --redis needs the optional peer dependencies bullmq and ioredis (npm install bullmq ioredis): ${(err as Error).message}`, { cause: err });
  }
  await checkTask(c);
  let rq: RunQueue;
  try {
    rq = await bull.RunQueue.open({ connection: c.redis.url, queue: c.redis.queue, identity: identityOf(c), fresh: c.fresh });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === ErrorCodes.REDIS_UNAVAILABLE) throw new UsageError(`cannot use Redis at ${redactUrl(c.redis.url)} (queue "${c.redis.queue}"): ${causeOf(e)}`, { cause: err });
    if (e.code === ErrorCodes.INVALID_OPTION) throw new UsageError(e.message, { cause: err });
    throw err;
  }
  return new RedisExecutor(rq, c);
}

class RedisExecutor implements BlockExecutor {
  /** Sizes the blocks (two per "worker" in flight): the window is what bounds the lines in Redis. */
  readonly size: number;
  readonly pool = undefined;
  readonly #rq: RunQueue;
  readonly #c: RunConfig;
  readonly #stop = new AbortController();

  constructor(rq: RunQueue, c: RunConfig) {
    this.#rq = rq;
    this.#c = c;
    this.size = c.size ?? availableCpus();
  }

  async runBlock(block: LineBlock, _timeoutMs?: number, onProgress?: (report: LineProgress) => void): Promise<BlockResult> {
    const text = block.text;
    const skip = block.skip.length === 0 ? undefined : new Set(block.skip);
    // Each line's record, in line order, once known.
    const records: Array<{ out?: string; dlq?: string }> = [];
    const sent: Array<Promise<void>> = [];
    const times: number[] = [];
    let badJson = 0;
    let blank = 0;
    let skipped = 0;
    let ok = 0;
    let dead = 0;
    let line = block.first - 1;
    for (const raw0 of lines(text)) {
      line++;
      const raw = raw0.endsWith('\r') ? raw0.slice(0, -1) : raw0;
      if (skip?.has(line) === true) {
        skipped++;
        continue;
      }
      if (raw.trim() === '') {
        blank++;
        continue;
      }
      let input: unknown;
      try {
        input = JSON.parse(raw);
      } catch (err) {
        badJson++;
        dead++;
        const e = err as Error;
        records.push({ dlq: JSON.stringify({ line, ok: false, raw, error: { name: e.name, code: 'ERR_SLUICE_CLI_BAD_JSON', message: e.message }, attempts: 0 }) });
        continue;
      }
      const rec: { out?: string; dlq?: string } = {};
      records.push(rec);
      const n = line;
      const t0 = performance.now();
      sent.push(
        this.#rq
          .run(n, this.#c.task, input, {
            attempts: this.#c.retries + 1,
            retryDelayMs: this.#c.retryDelayMs,
            timeoutMs: this.#c.timeoutMs,
            signal: this.#stop.signal,
            // What the line reports on its server reaches the status line here, naming the line, as in a local run.
            ...(onProgress !== undefined ? { onProgress: (value: unknown) => onProgress({ line: n, value }) } : {}),
          })
          .then(
            (result) => {
              times.push(performance.now() - t0);
              try {
                rec.out = okRecord(n, input, result);
                ok++;
              } catch (err) {
                rec.dlq = deadRecord(n, input, unwritable(this.#c.task, err), 1);
                dead++;
              }
            },
            (err: unknown) => {
              // Stopped: the whole block rejects, and its lines stay for the next run.
              if (this.#stop.signal.aborted) throw err;
              times.push(performance.now() - t0);
              const attempts = (err as { attempts?: unknown } | null)?.attempts;
              rec.dlq = deadRecord(n, input, lineError(err, this.#c.task), typeof attempts === 'number' ? attempts : 1);
              dead++;
            },
          ),
      );
    }
    await Promise.all(sent);
    let out = '';
    let dlq = '';
    for (const r of records) {
      if (r.out !== undefined) out += r.out + '\n';
      if (r.dlq !== undefined) dlq += r.dlq + '\n';
    }
    // No time of its own: the lines ran at once, elsewhere. Reporting none lets the runner grow blocks to the most the window allows.
    return { out, dlq, lines: line - block.first + 1, ok, dead, badJson, blank, skipped, failed: [], times, ms: 0 };
  }

  /** Servers taking work, or Redis being waited for: for the progress line. */
  note(): string {
    const s = this.#rq.status();
    if (s.downSince !== undefined) return `Redis unavailable for ${formatDuration(Date.now() - s.downSince)}: waiting, resumes by itself`;
    return s.servers === undefined ? 'servers: ?' : `${s.servers} server${s.servers === 1 ? '' : 's'}`;
  }

  /** A graceful end (nothing in flight): releases the queue for other runs. */
  close(): Promise<void> {
    return this.#rq.finish();
  }

  /** Stops waiting; the jobs stay in Redis, and the queue stays this run's, for the rerun to collect. */
  async terminate(): Promise<void> {
    this.#stop.abort(new Error('sluice run stopped'));
    await this.#rq.close();
  }
}

function* lines(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    yield text.slice(start, nl);
    start = nl + 1;
  }
}

function identityOf(c: RunConfig): { task: string; input: string; output: string; inputSize?: number; inputMtimeMs?: number } {
  if (c.input === '-') return { task: c.task, input: '-', output: c.output };
  const st = statSync(c.input);
  return { task: c.task, input: c.input, output: c.output, inputSize: st.size, inputMtimeMs: st.mtimeMs };
}

/**
 * The task must be one the module exports, checked here rather than after
 * every line was dead-lettered by the servers. A module that does not load
 * on the coordinator (its dependencies live on the servers) is not held
 * against the run: the servers say whether it loads.
 */
async function checkTask(c: RunConfig): Promise<void> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(c.moduleUrl)) as Record<string, unknown>;
  } catch {
    return;
  }
  const tasks = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
  if (!tasks.includes(c.task)) throw new UsageError(`unknown task "${c.task}"; ${c.moduleUrl} exports: ${tasks.length > 0 ? tasks.join(', ') : '(no functions)'}`);
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable URL)';
  }
}

function causeOf(err: Error): string {
  const cause = err.cause instanceof Error ? err.cause.message : err.message;
  return cause.split('\n')[0] ?? cause;
}
