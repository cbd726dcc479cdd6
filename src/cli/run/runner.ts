/**
 * The engine of `sluice run`: streams JSONL lines through a pool, writes
 * results and dead letters, journals progress, retries, and stops cleanly.
 *
 * Memory is bounded by one number, the window (queue + size): the reader
 * pauses while `read - finished` is at the window, where "finished" means the
 * line's outcome has been written (with --ordered, released in order). So the
 * lines held anywhere (pool queue, workers, retry backoff, reorder buffer) are
 * at most the window, whatever the input's size. `maxAhead` reports the
 * largest gap seen, for tests and the summary.
 */

import { createReadStream, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { ErrorCodes } from '../../api/errors.js';
import type { Pool } from '../../pool.js';
import { availableCpus } from '../../sizing/cpu-count.js';
import { openTaskPool } from '../open-pool.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { Interrupts } from '../interrupts.js';
import { Journal, type JournalHeader, type Recovered } from './journal.js';
import { countLines, readLines, type InputLine } from './jsonl-reader.js';
import { JsonlFile } from './jsonl-writer.js';
import { LatencyHistogram } from './latency.js';
import { prometheusText, startMetricsServer, type MetricsServer } from '../metrics-server.js';
import { startProgress, type Progress, type ProgressSnapshot } from './progress.js';
import { ReorderBuffer } from './reorder.js';
import { isRetryable } from './retry.js';
import type { RunConfig } from './run-config.js';

export interface RunIO {
  stdin: Readable;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
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

type Outcome = { kind: 'ok'; text: string } | { kind: 'dead'; text: string } | { kind: 'skip' };

const SKIP: Outcome = { kind: 'skip' };
const COMMIT_INTERVAL_MS = 200;

interface Job {
  line: number;
  input: unknown;
  id: unknown;
  attempts: number;
}

export async function runJob(config: RunConfig, io: RunIO): Promise<RunSummary> {
  return new JobRunner(config, io).run();
}

class JobRunner {
  readonly #c: RunConfig;
  readonly #io: RunIO;
  readonly #window: number;
  readonly #latency = new LatencyHistogram();
  #pool!: Pool;
  #journal!: Journal;
  #out!: JsonlFile;
  #dlq!: JsonlFile;
  #recovered!: Recovered;
  #reorder: ReorderBuffer<Outcome> | undefined;
  #waiters: (() => void)[] = [];
  #destroySource: (() => void) | undefined;
  #stopping = false;
  #forced = false;
  #sealed = false;
  #fatal: Error | undefined;
  #total: number | undefined;
  #startedAt = 0;
  #read = 0;
  #finished = 0;
  #inFlight = 0;
  #ok = 0;
  #dead = 0;
  #badJson = 0;
  #skipped = 0;
  #blank = 0;
  #maxAhead = 0;

  constructor(config: RunConfig, io: RunIO) {
    this.#c = config;
    this.#io = io;
    // Without --size the pool sizes for the CPUs this process may use (a container's quota): so does the window.
    this.#window = config.queue + (config.size ?? availableCpus());
  }

  async run(): Promise<RunSummary> {
    const header = this.#journalHeader();
    this.#pool = await this.#openPool();
    try {
      ({ journal: this.#journal, recovered: this.#recovered } = await Journal.open(this.#c.journal, header, this.#c.output, this.#c.dlq, this.#c.fresh));
    } catch (err) {
      await this.#pool.terminate();
      throw err;
    }
    this.#out = new JsonlFile(this.#c.output, this.#recovered.outputBytes, false);
    this.#dlq = new JsonlFile(this.#c.dlq, this.#recovered.dlqBytes, true);
    if (this.#c.ordered) this.#reorder = new ReorderBuffer<Outcome>(1, (line, o) => this.#write(line, o));

    let metrics: MetricsServer | undefined;
    if (this.#c.metrics !== undefined) {
      try {
        metrics = await startMetricsServer(this.#c.metrics, () => prometheusText(this.#pool.stats(), this.#counters()));
      } catch (err) {
        await this.#pool.terminate();
        throw new UsageError(`cannot serve metrics on ${this.#c.metrics.host}:${this.#c.metrics.port}: ${(err as Error).message}`);
      }
      this.#io.stderr.write(`sluice: metrics on ${metrics.url}\n`);
    }
    if (this.#c.input !== '-') {
      countLines(this.#c.input).then(
        (n) => (this.#total = n),
        () => undefined, // The total is cosmetic; a read error surfaces from the reader itself.
      );
    }

    const onInterrupt = (count: number): void => this.#interrupt(count);
    this.#io.interrupts.on('interrupt', onInterrupt);
    if (this.#io.interrupts.count > 0) this.#interrupt(this.#io.interrupts.count);
    const commitTimer = setInterval(() => this.#commit(), COMMIT_INTERVAL_MS);
    commitTimer.unref();
    this.#startedAt = performance.now();
    const progress: Progress = startProgress(this.#c.progress, this.#io.stderr, () => this.#progress(), this.#c.statusIntervalMs);

    try {
      await this.#readAll();
      // Drain: everything admitted finishes (retries included) unless forced.
      while (this.#inFlight > 0 && !this.#forced) await this.#changed();
    } finally {
      clearInterval(commitTimer);
      progress.stop();
      this.#io.interrupts.off('interrupt', onInterrupt);
      this.#seal();
      if (this.#forced) await this.#pool.terminate();
      else await this.#pool.close();
      await metrics?.close();
    }
    return this.#summary(metrics?.url);
  }

  // ---- setup ---------------------------------------------------------------

  #journalHeader(): JournalHeader {
    if (this.#c.input === '-') return { sluice: 'journal', v: 1, task: this.#c.task, input: { path: '-' } };
    let st;
    try {
      st = statSync(this.#c.input);
    } catch {
      throw new UsageError(`input ${this.#c.input} does not exist`);
    }
    if (!st.isFile()) throw new UsageError(`input ${this.#c.input} is not a file`);
    return { sluice: 'journal', v: 1, task: this.#c.task, input: { path: this.#c.input, size: st.size, mtimeMs: st.mtimeMs } };
  }

  #openPool(): Promise<Pool> {
    const c = this.#c;
    const options: Record<string, unknown> = { queue: { capacity: c.queue, overflow: 'wait' } };
    if (c.size !== undefined) options.size = c.size;
    if (c.timeoutMs !== undefined) options.timeoutMs = c.timeoutMs;
    // Retries are the pool's: a failed line waits out its backoff off the
    // worker, and comes back with `attempts` on its final error. The CLI keeps
    // its own rule of what is worth retrying (a timeout or a crash is; a bad
    // input or an unknown task is not).
    if (c.retries > 0) options.retry = { attempts: c.retries + 1, backoff: 'exponential', baseMs: c.retryDelayMs, jitter: 'none', retryOn: isRetryable };
    // Failed lines go to the CLI's own dead-letter file, with their line numbers.
    options.deadLetter = false;
    return openTaskPool({ kind: c.kind, moduleUrl: c.moduleUrl, task: c.task }, options);
  }

  // ---- reading -------------------------------------------------------------

  async #readAll(): Promise<void> {
    const source = this.#c.input === '-' ? this.#io.stdin : createReadStream(this.#c.input);
    const lines = readLines(source);
    // A stop destroys the source, which settles a read in progress: the loop
    // never races a promise that may not settle (each such race would leave a
    // reaction on it per line, which is how memory once grew with the input).
    this.#destroySource = () => source.destroy();
    try {
      while (!this.#stopping) {
        await this.#admit();
        if (this.#stopping) break;
        const next = await lines.next();
        if (this.#stopping || next.done === true) break;
        this.#onLine(next.value);
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

  /** Waits until the window and the pool's queue have room; wakes at a stop. */
  async #admit(): Promise<void> {
    while (!this.#stopping && this.#read - this.#finished >= this.#window) await this.#changed();
    if (this.#stopping) return;
    const ready = this.#pool.ready();
    // ready() settles when the queue has room, or rejects once the pool closes;
    // a stop wakes #changed() waiters too, so this wait ends either way and
    // leaves nothing behind on a long-lived promise.
    let woke = false;
    const wake = (): void => {
      woke = true;
      this.#notify();
    };
    ready.then(wake, wake);
    while (!woke && !this.#stopping) await this.#changed();
  }

  #onLine({ line, text }: InputLine): void {
    this.#read++;
    const ahead = this.#read - this.#finished;
    if (ahead > this.#maxAhead) this.#maxAhead = ahead;
    if (this.#recovered.done.has(line)) {
      this.#skipped++;
      this.#emit(line, SKIP);
      return;
    }
    if (text.trim() === '') {
      this.#blank++;
      this.#emit(line, SKIP);
      return;
    }
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (err) {
      this.#badJson++;
      const e = err as Error;
      this.#emit(line, {
        kind: 'dead',
        text: JSON.stringify({ line, ok: false, raw: text, error: { name: e.name, code: 'ERR_SLUICE_CLI_BAD_JSON', message: e.message }, attempts: 0 }),
      });
      return;
    }
    const id = typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as { id?: unknown }).id : undefined;
    this.#inFlight++;
    this.#attempt({ line, input, id, attempts: 0 });
  }

  // ---- tasks -----------------------------------------------------------------

  #attempt(job: Job): void {
    const t0 = performance.now();
    const opts = this.#c.timeoutMs === undefined ? undefined : { timeoutMs: this.#c.timeoutMs };
    this.#pool.run(this.#c.task, job.input, opts).then(
      (result: unknown) => {
        this.#latency.record(performance.now() - t0);
        let text: string;
        try {
          text = JSON.stringify(job.id === undefined ? { line: job.line, ok: true, result: result ?? null } : { line: job.line, id: job.id, ok: true, result: result ?? null });
        } catch (err) {
          this.#finish(job, this.#deadLetter(job, err));
          return;
        }
        job.attempts = 1;
        this.#finish(job, { kind: 'ok', text });
      },
      (err: unknown) => {
        if (this.#forced) return this.#abandon();
        // The pool retried it as far as the policy allows; its final error says how many tries it took.
        const attempts = (err as { attempts?: unknown } | null)?.attempts;
        job.attempts = typeof attempts === 'number' ? attempts : 1;
        this.#finish(job, this.#deadLetter(job, err));
      },
    );
  }

  #deadLetter(job: Job, err: unknown): Outcome {
    const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown };
    const error = { name: e.name ?? 'Error', code: e.code ?? ErrorCodes.TASK_FAILED, message: e.message, stack: e.stack };
    const rec: Record<string, unknown> = { line: job.line };
    if (job.id !== undefined) rec.id = job.id;
    Object.assign(rec, { ok: false, input: job.input, error, attempts: job.attempts });
    return { kind: 'dead', text: JSON.stringify(rec) };
  }

  #finish(job: Job, outcome: Outcome): void {
    this.#inFlight--;
    this.#emit(job.line, outcome);
  }

  /** A line that will not finish in this run (forced stop): not written, not journaled, so redone on resume. */
  #abandon(): void {
    this.#inFlight--;
    this.#notify();
  }

  // ---- writing ---------------------------------------------------------------

  #emit(line: number, outcome: Outcome): void {
    if (this.#reorder !== undefined) this.#reorder.push(line, outcome);
    else this.#write(line, outcome);
  }

  #write(line: number, outcome: Outcome): void {
    if (this.#sealed) return;
    // The record goes to its file first, its journal entry after (committed in batches).
    if (outcome.kind === 'ok') {
      this.#out.write(outcome.text);
      this.#journal.record(line, 'o', this.#out.offset, this.#dlq.offset);
      this.#ok++;
    } else if (outcome.kind === 'dead') {
      this.#dlq.write(outcome.text);
      this.#journal.record(line, 'd', this.#out.offset, this.#dlq.offset);
      this.#dead++;
    }
    this.#finished++;
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
      this.#io.stderr.write(`sluice: interrupted; finishing ${this.#inFlight} in-flight lines (interrupt again to stop now)\n`);
    }
    this.#requestStop();
    if (count < 2 || this.#forced) return;
    this.#forced = true;
    // Everything written so far becomes durable and journaled now; later results are dropped.
    this.#seal();
    // Lines in a retry backoff are rejected by terminate() and abandoned like the rest.
    this.#pool.terminate().catch(() => undefined);
    this.#notify();
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

  /** Retries are counted by the pool (failed attempts it tried again). */
  #retriesSoFar(): number {
    return this.#pool === undefined ? 0 : this.#pool.stats().retried;
  }

  #counters(): { read: number; ok: number; dead: number; badJson: number; skipped: number; retries: number; inFlight: number } {
    return { read: this.#read, ok: this.#ok, dead: this.#dead, badJson: this.#badJson, skipped: this.#skipped, retries: this.#retriesSoFar(), inFlight: this.#inFlight };
  }

  #progress(): ProgressSnapshot {
    const elapsed = (performance.now() - this.#startedAt) / 1000;
    const processed = this.#finished - this.#skipped - this.#blank;
    return {
      done: this.#finished,
      total: this.#total,
      rate: elapsed > 0 ? processed / elapsed : 0,
      failed: this.#dead,
      p99Ms: this.#latency.quantile(0.99),
    };
  }

  #summary(metricsUrl: string | undefined): RunSummary {
    const interrupted = this.#forced ? 'force' : this.#stopping && this.#fatal === undefined ? 'drain' : 'no';
    let exitCode: ExitCode = ExitCode.Ok;
    if (interrupted !== 'no') exitCode = ExitCode.Interrupted;
    else if (this.#fatal !== undefined || this.#dead > 0 || this.#recovered.dead > 0) exitCode = ExitCode.Failures;
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
      retries: this.#retriesSoFar(),
      elapsedMs: performance.now() - this.#startedAt,
      p50Ms: this.#latency.quantile(0.5),
      p99Ms: this.#latency.quantile(0.99),
      maxAhead: this.#maxAhead,
      window: this.#window,
      total: this.#total,
      output: this.#c.output,
      dlq: this.#c.dlq,
      dlqWritten: this.#dlq.lines > 0 || this.#recovered.dead > 0,
      journal: this.#c.journal,
      metricsUrl,
      fatal: this.#fatal,
    };
  }
}
