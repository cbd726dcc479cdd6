/**
 * The engine of `sluice run`: streams JSONL input through an executor (the
 * local pool) in blocks of lines, writes results and dead letters, journals
 * progress, retries, and stops cleanly.
 *
 * The main thread's work per line is a newline search: blocks of raw lines
 * go to the workers, which parse, run the task and write the output records
 * (line-block.ts); the text that comes back is appended to the output. A
 * block's size adapts to the task: about TARGET_BLOCK_MS of work, so a
 * trivial task travels hundreds of lines per message and a slow one travels
 * alone (and CPU-bound work still spreads over every worker).
 *
 * Memory is bounded by one number, the window (queue + size): the reader
 * waits while `read - finished` would pass it, where "finished" means a
 * line's outcome has been written (with --ordered, released in order). So
 * the lines held anywhere (executor, workers, retry backoff, reorder buffer)
 * are at most the window, whatever the input's size. Nothing here keeps a
 * per-line record beyond that: no promise per line, no race against a
 * promise that never settles. `maxAhead` reports the largest gap seen.
 */

import { createReadStream, statSync } from 'node:fs';
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { ErrorCodes } from '../../api/errors.js';
import { availableCpus } from '../../sizing/cpu-count.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { Interrupts } from '../interrupts.js';
import { prometheusText, startMetricsServer, type MetricsServer } from '../metrics-server.js';
import { noteDeadLines, startCliDashboard } from '../dashboard.js';
import type { Dashboard } from '../../observability/dashboard/server.js';
import { BlockReader, type RawBlock } from './block-reader.js';
import { openPoolExecutor, type BlockExecutor } from './executor.js';
import { openRedisExecutor } from './redis-executor.js';
import { Journal, type JournalHeader, type Recovered } from './journal.js';
import { lockOutput } from './output-lock.js';
import { countLines } from './jsonl-reader.js';
import { JsonlFile } from './jsonl-writer.js';
import { deadRecord, lineError, type BlockResult, type FailedLine, type LineError, type LineProgress } from './line-block.js';
import { startProgress, type Progress, type ProgressSnapshot } from './progress.js';
import { ReorderBuffer } from './reorder.js';
import { isRetryable } from './retry.js';
import type { RunConfig } from './run-config.js';

export interface RunIO {
  stdin: Readable;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  interrupts: Interrupts;
}

export interface RunSummary {
  exitCode: ExitCode;
  /** 'drain' after one interrupt, 'force' after two. */
  interrupted: 'no' | 'drain' | 'force';
  read: number;
  ok: number;
  /** Lines sent to the DLQ by this run (bad JSON included). */
  dead: number;
  badJson: number;
  /** Lines skipped because the journal says an earlier run finished them. */
  skipped: number;
  blank: number;
  /** Lines earlier runs sent to the output / the DLQ. */
  previousOk: number;
  previousDead: number;
  retries: number;
  elapsedMs: number;
  /** From the first interrupt to the end of the run; undefined when not interrupted. */
  drainMs: number | undefined;
  p50Ms: number;
  p99Ms: number;
  /** Largest `read - finished` seen: the reader's lead over the writer. */
  maxAhead: number;
  window: number;
  total: number | undefined;
  output: string;
  dlq: string;
  dlqWritten: boolean;
  journal: string;
  metricsUrl: string | undefined;
  /** An error that stopped the run early (input read error, pool failure). */
  fatal: Error | undefined;
}

const COMMIT_INTERVAL_MS = 200;
/** Work per block the sizing aims at: long enough to make a message's cost small, short enough to balance workers. */
const TARGET_BLOCK_MS = 2;
const MAX_BLOCK_LINES = 1024;
const MAX_BLOCK_BYTES = 256 * 1024;
/** Blocks in flight per worker: one running, one waiting in its inbox. */
const BLOCKS_PER_WORKER = 2;
const MAX_BACKOFF_MS = 30_000;

/** What one line run by itself (a retry, or isolation after its block failed) left behind. */
interface Single {
  out: string;
  dlq: string;
}

/** A block of lines from read to written. */
interface Block {
  seq: number;
  first: number;
  lines: number;
  /** Kept until the block is written: its lines are run one by one if the block fails as a whole. */
  text: string;
  result: BlockResult | undefined;
  /** Lines not finished yet. */
  pending: number;
  singles: Map<number, Single> | undefined;
  ok: number;
  dead: number;
  badJson: number;
  blank: number;
  skipped: number;
}

export async function runJob(config: RunConfig, io: RunIO): Promise<RunSummary> {
  return new JobRunner(config, io).run();
}

class JobRunner {
  readonly #c: RunConfig;
  readonly #io: RunIO;
  readonly #window: number;
  readonly #latency: RecordableHistogram = createHistogram();
  #executor!: BlockExecutor;
  #journal!: Journal;
  #out!: JsonlFile;
  #dlq!: JsonlFile;
  #recovered!: Recovered;
  #reorder: ReorderBuffer<Block> | undefined;
  #progress: Progress | undefined;
  #dashboard: Dashboard | undefined;
  /** The latest progress a line's task reported (ctx.progress), for the progress display. */
  #report: LineProgress | undefined;
  readonly #onReport = (report: LineProgress): void => {
    this.#report = report;
  };
  #waiters: (() => void)[] = [];
  #destroySource: (() => void) | undefined;
  readonly #backoffs = new Set<NodeJS.Timeout>();
  #stopping = false;
  #forced = false;
  #sealed = false;
  #fatal: Error | undefined;
  #total: number | undefined;
  #startedAt = 0;
  #interruptedAt: number | undefined;
  #seq = 0;
  #blocksInFlight = 0;
  #maxBlocks = 1;
  #maxLines = 1;
  /** Lines in the next block: grows towards TARGET_BLOCK_MS of work. */
  #blockLines = 1;
  /** Smoothed task time per line, ms. */
  #perLineMs: number | undefined;
  #read = 0;
  #finished = 0;
  #ok = 0;
  #dead = 0;
  #badJson = 0;
  #skipped = 0;
  #blank = 0;
  #retries = 0;
  #maxAhead = 0;

  constructor(config: RunConfig, io: RunIO) {
    this.#c = config;
    this.#io = io;
    // Without --size the pool sizes for the CPUs this process may use (a container's quota): so does the window.
    this.#window = config.queue + (config.size ?? availableCpus());
  }

  async run(): Promise<RunSummary> {
    const header = this.#journalHeader();
    const lock = lockOutput(this.#c.output, (m) => this.#io.stderr.write(m + '\n'));
    try {
      return await this.#runLocked(header);
    } finally {
      lock.release();
    }
  }

  async #runLocked(header: JournalHeader): Promise<RunSummary> {
    const c = this.#c;
    // --redis: the lines run on `sluice serve` processes (redis-executor.ts); nothing else here changes.
    this.#executor = c.redis !== undefined ? await openRedisExecutor({ ...c, redis: c.redis }) : await openPoolExecutor({ kind: c.kind, moduleUrl: c.moduleUrl, task: c.task, size: c.size, queue: this.#window });
    const size = this.#executor.size;
    this.#maxBlocks = BLOCKS_PER_WORKER * size;
    // At least two blocks per worker fit in the window, so every worker has its next block at hand.
    this.#maxLines = Math.max(1, Math.min(MAX_BLOCK_LINES, Math.floor(this.#window / this.#maxBlocks)));
    try {
      ({ journal: this.#journal, recovered: this.#recovered } = await Journal.open(this.#c.journal, header, this.#c.output, this.#c.dlq, this.#c.fresh));
    } catch (err) {
      await this.#executor.terminate();
      throw err;
    }
    this.#out = new JsonlFile(this.#c.output, this.#recovered.outputBytes, false);
    this.#dlq = new JsonlFile(this.#c.dlq, this.#recovered.dlqBytes, true);
    if (this.#c.ordered) this.#reorder = new ReorderBuffer<Block>(0, (_seq, block) => this.#write(block));

    let metrics: MetricsServer | undefined;
    if (this.#c.metrics !== undefined) {
      const pool = this.#executor.pool;
      try {
        metrics = await startMetricsServer(this.#c.metrics, () => prometheusText(pool?.name ?? 'sluice', this.#c.task, pool?.stats(), this.#counters()));
      } catch (err) {
        await this.#executor.terminate();
        throw err;
      }
      this.#io.stderr.write(`sluice: metrics on ${metrics.url}\n`);
    }
    if (this.#c.dashboard !== undefined) {
      try {
        this.#dashboard = await startCliDashboard(this.#executor.pool, this.#c.dashboard, this.#io.stderr, { title: `sluice run ${this.#c.task}`, job: () => this.#snapshot() });
      } catch (err) {
        await metrics?.close();
        await this.#executor.terminate();
        throw err;
      }
    }
    if (this.#c.input !== '-') {
      countLines(this.#c.input).then(
        (n) => (this.#total = n),
        () => undefined, // The total is cosmetic; a read error surfaces from the reader itself.
      );
    }

    const onInterrupt = (count: number): void => this.#interrupt(count);
    this.#io.interrupts.on('interrupt', onInterrupt);
    const commitTimer = setInterval(() => this.#commit(), COMMIT_INTERVAL_MS);
    commitTimer.unref();
    this.#startedAt = performance.now();
    this.#progress = startProgress(this.#c.progress, this.#io.stderr, () => this.#snapshot(), this.#c.statusIntervalMs);
    if (this.#io.interrupts.count > 0) this.#interrupt(this.#io.interrupts.count);

    try {
      await this.#readAll();
      // Drain: everything admitted finishes (retries included) unless forced.
      while (this.#blocksInFlight > 0 && !this.#forced) await this.#changed();
    } finally {
      clearInterval(commitTimer);
      this.#progress.stop();
      this.#io.interrupts.off('interrupt', onInterrupt);
      this.#seal();
      if (this.#forced) await this.#executor.terminate();
      else await this.#executor.close();
      await metrics?.close();
      await this.#dashboard?.close();
    }
    return this.#summary(metrics?.url);
  }

  // ---- setup ---------------------------------------------------------------

  #journalHeader(): JournalHeader {
    if (this.#c.input === '-') return { sluice: 'journal', v: 2, task: this.#c.task, input: { path: '-' } };
    let st;
    try {
      st = statSync(this.#c.input);
    } catch {
      throw new UsageError(`input ${this.#c.input} does not exist`);
    }
    if (!st.isFile()) throw new UsageError(`input ${this.#c.input} is not a file`);
    return { sluice: 'journal', v: 2, task: this.#c.task, input: { path: this.#c.input, size: st.size, mtimeMs: st.mtimeMs } };
  }

  // ---- reading -------------------------------------------------------------

  async #readAll(): Promise<void> {
    const source = this.#c.input === '-' ? this.#io.stdin : createReadStream(this.#c.input, { highWaterMark: 64 * 1024 });
    const reader = new BlockReader(source);
    // A stop destroys the source, which settles a read in progress: the loop
    // never races a promise that may not settle (each such race would leave a
    // reaction on it per line, which is how memory once grew with the input).
    this.#destroySource = () => source.destroy();
    try {
      while (!this.#stopping) {
        const want = await this.#admit();
        if (this.#stopping) break;
        const raw = await reader.next(want, MAX_BLOCK_BYTES);
        if (this.#stopping || raw === undefined) break;
        this.#send(raw);
      }
    } catch (err) {
      // A read failing because a stop destroyed the source is no error.
      if (!this.#stopping) {
        this.#fatal = err instanceof Error ? err : new Error(String(err));
        this.#requestStop();
      }
    } finally {
      this.#destroySource = undefined;
      if (this.#stopping) source.destroy();
    }
  }

  /** Waits until the next block fits in the window and among the blocks in flight; returns its size in lines. */
  async #admit(): Promise<number> {
    for (;;) {
      if (this.#stopping) return 0;
      const inFlight = this.#read - this.#finished;
      const want = Math.min(this.#blockLines, this.#window);
      if (inFlight === 0 || (inFlight + want <= this.#window && this.#blocksInFlight < this.#maxBlocks)) return want;
      await this.#changed();
    }
  }

  #send(raw: RawBlock): void {
    this.#read += raw.lines;
    const ahead = this.#read - this.#finished;
    if (ahead > this.#maxAhead) this.#maxAhead = ahead;
    const block: Block = { seq: this.#seq++, first: raw.first, lines: raw.lines, text: raw.text, result: undefined, pending: raw.lines, singles: undefined, ok: 0, dead: 0, badJson: 0, blank: 0, skipped: 0 };
    this.#blocksInFlight++;
    let skip: number[] = [];
    const done = this.#recovered.done;
    if (done.size > 0) {
      for (let n = raw.first; n < raw.first + raw.lines; n++) if (done.has(n)) skip.push(n);
      if (skip.length === raw.lines) {
        // Finished by an earlier run: nothing to send.
        block.skipped = raw.lines;
        block.pending = 0;
        block.text = '';
        this.#complete(block);
        return;
      }
    } else {
      skip = [];
    }
    const timeoutMs = this.#blockTimeout(raw.lines);
    this.#executor.runBlock({ first: raw.first, text: raw.text, skip, report: this.#c.retries > 0 ? 'retryable' : 'none' }, timeoutMs, this.#onReport).then(
      (result) => this.#onBlock(block, result),
      (err: unknown) => this.#onBlockFailed(block, err),
    );
  }

  // ---- results ---------------------------------------------------------------

  #onBlock(block: Block, r: BlockResult): void {
    if (this.#forced) return this.#abandon();
    this.#record(r);
    const ran = r.lines - r.skipped - r.blank - r.badJson;
    if (ran > 0) this.#resize(r.ms / ran);
    block.result = r;
    block.ok += r.ok;
    block.dead += r.dead;
    block.badJson += r.badJson;
    block.blank += r.blank;
    block.skipped += r.skipped;
    block.pending = r.failed.length;
    for (const f of r.failed) this.#lineFailed(block, f.line, f.text, f.error, 1);
    if (block.pending === 0) this.#complete(block);
  }

  /** The block failed as a whole (its worker crashed, it timed out): no line of it is done. */
  #onBlockFailed(block: Block, err: unknown): void {
    if (this.#forced) return this.#abandon();
    const error = lineError(err, this.#c.task);
    const done = this.#recovered.done;
    const lines = splitLines(block.text, block.first).filter((l) => done.size === 0 || !done.has(l.line));
    block.skipped += block.lines - lines.length;
    if (lines.length === 1 && block.lines === 1) {
      // The line that failed is known: this was its attempt.
      const only = lines[0] as FailedLine;
      block.result = emptyResult([only]);
      block.pending = 1;
      this.#lineFailed(block, only.line, only.text, error, 1);
      return;
    }
    // Which line brought the block down is unknown: each runs again by
    // itself, and that attempt is its first (a crash-prone line then fails
    // alone; the others succeed).
    block.result = emptyResult(lines);
    block.pending = lines.length;
    for (const l of lines) this.#runSingle(block, l.line, l.text, 0);
  }

  /** Runs one line by itself; `attempts` it has made so far. */
  #runSingle(block: Block, line: number, text: string, attempts: number): void {
    this.#executor.runBlock({ first: line, text: text + '\n', skip: [], report: 'all' }, this.#c.timeoutMs, this.#onReport).then(
      (r) => {
        if (this.#forced) return;
        this.#record(r);
        const failed = r.failed[0];
        if (failed !== undefined) return this.#lineFailed(block, line, text, failed.error, attempts + 1);
        block.ok += r.ok;
        block.dead += r.dead;
        block.badJson += r.badJson;
        block.blank += r.blank;
        this.#single(block, line, { out: r.out, dlq: r.dlq });
      },
      (err: unknown) => {
        if (this.#forced) return;
        const error = lineError(err, this.#c.task);
        // The line finished, but its worker died (another line crashed it) before the result got out:
        // not this line's failure, so it runs again without spending an attempt.
        if (error.code === ErrorCodes.RESULT_LOST) return this.#runSingle(block, line, text, attempts);
        this.#lineFailed(block, line, text, error, attempts + 1);
      },
    );
  }

  /** A line's attempt failed: retried after its backoff, or dead-lettered. */
  #lineFailed(block: Block, line: number, text: string, error: LineError, attempts: number): void {
    if (this.#c.retries > 0 && attempts <= this.#c.retries && isRetryable(error)) {
      this.#retries++;
      const delay = Math.min(MAX_BACKOFF_MS, this.#c.retryDelayMs * 2 ** (attempts - 1));
      const timer = setTimeout(() => {
        this.#backoffs.delete(timer);
        this.#runSingle(block, line, text, attempts);
      }, delay);
      this.#backoffs.add(timer);
      return;
    }
    block.dead++;
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch {
      input = text;
    }
    this.#single(block, line, { out: '', dlq: deadRecord(line, input, error, attempts) + '\n' });
  }

  #single(block: Block, line: number, outcome: Single): void {
    (block.singles ??= new Map()).set(line, outcome);
    if (--block.pending === 0) this.#complete(block);
  }

  #complete(block: Block): void {
    this.#blocksInFlight--;
    if (this.#reorder !== undefined) this.#reorder.push(block.seq, block);
    else this.#write(block);
  }

  /** A block that will not finish in this run (forced stop): not written, not journaled, so redone on resume. */
  #abandon(): void {
    this.#blocksInFlight--;
    this.#notify();
  }

  #record(r: BlockResult): void {
    for (const ms of r.times) this.#latency.record(Math.max(1, Math.round(ms * 1e6)));
  }

  /**
   * A block's running-time limit under --timeout: one line's limit plus room
   * for the rest at four times their usual pace, so a line that hangs holds
   * its block about --timeout, not --timeout × its lines; the block then runs
   * line by line, each with --timeout, and only that line times out.
   */
  #blockTimeout(lines: number): number | undefined {
    const t = this.#c.timeoutMs;
    if (t === undefined || lines === 1) return t;
    return this.#perLineMs === undefined ? t * lines : Math.ceil(t + 4 * lines * this.#perLineMs);
  }

  /** Sizes the next blocks from the task's time per line: about TARGET_BLOCK_MS each, at most doubling at a time. */
  #resize(msPerLine: number): void {
    this.#perLineMs = this.#perLineMs === undefined ? msPerLine : 0.7 * this.#perLineMs + 0.3 * msPerLine;
    const target = Math.max(1, Math.floor(TARGET_BLOCK_MS / Math.max(this.#perLineMs, 1e-6)));
    this.#blockLines = Math.max(1, Math.min(target, 2 * this.#blockLines, this.#maxLines));
  }

  // ---- writing ---------------------------------------------------------------

  #write(block: Block): void {
    if (this.#sealed) return;
    // The records go to their files first, the block's journal entry after (committed in batches).
    const r = block.result;
    if (this.#dashboard !== undefined && block.dead > 0) noteDeadLines(this.#dashboard, this.#c.task, [r?.dlq ?? '', ...[...(block.singles?.values() ?? [])].map((s) => s.dlq)]);
    if (r !== undefined) {
      if (r.failed.length === 0) {
        this.#out.append(r.out);
        this.#dlq.append(r.dlq);
      } else {
        // Lines run again by themselves go back to their places: order holds within a block.
        let outAt = 0;
        let dlqAt = 0;
        for (const f of r.failed) {
          const s = block.singles?.get(f.line) as Single;
          this.#out.append(r.out.slice(outAt, f.outAt));
          this.#out.append(s.out);
          this.#dlq.append(r.dlq.slice(dlqAt, f.dlqAt));
          this.#dlq.append(s.dlq);
          outAt = f.outAt;
          dlqAt = f.dlqAt;
        }
        this.#out.append(r.out.slice(outAt));
        this.#dlq.append(r.dlq.slice(dlqAt));
      }
    }
    this.#journal.record(block.first, block.lines, block.ok, block.dead, this.#out.offset, this.#dlq.offset);
    this.#ok += block.ok;
    this.#dead += block.dead;
    this.#badJson += block.badJson;
    this.#blank += block.blank;
    this.#skipped += block.skipped;
    this.#finished += block.lines;
    block.text = '';
    this.#notify();
  }

  #commit(): void {
    if (!this.#sealed) this.#journal.commit(this.#out, this.#dlq);
  }

  /** Final commit; nothing is written after it (a forced stop's late results are dropped). */
  #seal(): void {
    if (this.#sealed) return;
    this.#journal.close(this.#out, this.#dlq);
    this.#out.close();
    this.#dlq.close();
    this.#sealed = true;
  }

  // ---- stopping ----------------------------------------------------------------

  #interrupt(count: number): void {
    if (count === 1) {
      this.#interruptedAt = performance.now();
      this.#say(`sluice: interrupted; finishing ${this.#read - this.#finished} in-flight lines (interrupt again to stop now)`);
    }
    this.#requestStop();
    if (count < 2 || this.#forced) return;
    this.#forced = true;
    this.#say('sluice: stopping now; lines in flight are left for the next run');
    for (const t of this.#backoffs) clearTimeout(t);
    this.#backoffs.clear();
    // Everything written so far becomes durable and journaled now; later results are dropped.
    this.#seal();
    this.#executor.terminate().catch(() => undefined);
    this.#notify();
  }

  /** A message on its own line: above the progress line on a terminal. */
  #say(message: string): void {
    if (this.#progress !== undefined) this.#progress.log(message);
    else this.#io.stderr.write(message + '\n');
  }

  #requestStop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#destroySource?.();
    this.#notify();
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  // ---- reporting ---------------------------------------------------------------

  #counters(): { read: number; ok: number; dead: number; badJson: number; skipped: number; retries: number; inFlight: number } {
    return { read: this.#read, ok: this.#ok, dead: this.#dead, badJson: this.#badJson, skipped: this.#skipped, retries: this.#retries, inFlight: this.#read - this.#finished };
  }

  #quantile(q: number): number {
    return this.#latency.count === 0 ? NaN : this.#latency.percentile(q * 100) / 1e6;
  }

  #snapshot(): ProgressSnapshot {
    const elapsed = (performance.now() - this.#startedAt) / 1000;
    const processed = this.#finished - this.#skipped - this.#blank;
    return {
      done: this.#finished,
      total: this.#total,
      rate: elapsed > 0 ? processed / elapsed : 0,
      failed: this.#dead,
      p99Ms: this.#quantile(0.99),
      ...(this.#executor.note !== undefined ? { note: this.#executor.note() } : {}),
      report: this.#report,
    };
  }

  #summary(metricsUrl: string | undefined): RunSummary {
    const interrupted = this.#forced ? 'force' : this.#stopping && this.#fatal === undefined ? 'drain' : 'no';
    let exitCode: ExitCode = ExitCode.Ok;
    if (interrupted !== 'no') exitCode = ExitCode.Interrupted;
    else if (this.#fatal !== undefined || this.#dead > 0 || this.#recovered.dead > 0) exitCode = ExitCode.Failures;
    const now = performance.now();
    return {
      exitCode,
      interrupted,
      read: this.#read,
      ok: this.#ok,
      dead: this.#dead,
      badJson: this.#badJson,
      skipped: this.#skipped,
      blank: this.#blank,
      previousOk: this.#recovered.ok,
      previousDead: this.#recovered.dead,
      retries: this.#retries,
      elapsedMs: now - this.#startedAt,
      drainMs: this.#interruptedAt === undefined ? undefined : now - this.#interruptedAt,
      p50Ms: this.#quantile(0.5),
      p99Ms: this.#quantile(0.99),
      maxAhead: this.#maxAhead,
      window: this.#window,
      total: this.#total,
      output: this.#c.output,
      dlq: this.#c.dlq,
      dlqWritten: this.#dlq.written || this.#recovered.dead > 0,
      journal: this.#c.journal,
      metricsUrl,
      fatal: this.#fatal,
    };
  }
}

function emptyResult(failed: FailedLine[]): BlockResult {
  return { out: '', dlq: '', lines: 0, ok: 0, dead: 0, badJson: 0, blank: 0, skipped: 0, failed, times: [], ms: 0 };
}

/** The lines of a block, for running them one by one (rare: after the block failed as a whole). */
function splitLines(text: string, first: number): FailedLine[] {
  const parts = text.split('\n');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((p, i) => ({ line: first + i, text: p.endsWith('\r') ? p.slice(0, -1) : p, error: { name: '', message: '' }, outAt: 0, dlqAt: 0 }));
}
