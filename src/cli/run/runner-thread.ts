/**
 * `sluice run` runs its runner (runner.ts) on a thread of its own, and this
 * is the main thread's side of it: it starts the thread, forwards Ctrl-C,
 * stdin and the terminal's width to it, writes what it reports to stderr,
 * and hands back its summary. runner-entry.ts is the thread's side.
 *
 * Why a thread: memory. A run's main-thread work (read, split, send, write)
 * makes short-lived garbage for as long as the run lasts, and V8 grows an
 * isolate's young generation as its survivors add up: towards 48 MB, so
 * peak RSS crept up with the input's length (105 MB at 1M lines, 130 MB at
 * 4M, 2 workers). The main isolate's heap is sized when the process starts
 * and cannot be bounded from inside (`v8.setFlagsFromString` after start is
 * documented as unsafe and does not resize a heap); a thread's can, with
 * `resourceLimits`. Measured: docs/performance.md, "sluice run against a
 * plain loop". The main thread keeps what must stay with the process:
 * signals, the terminal, stdin.
 */

import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { decodeError, registerError, type EncodedError } from '../../wire/error-codec.js';
import { ModuleLoadFailure, UsageError } from '../exit-codes.js';
import type { Interrupts } from '../interrupts.js';
import { RUNNER_ENTRY } from '../../entries.js';
import type { RunConfig } from './run-config.js';
import type { RunIO, RunSummary } from './runner.js';

/**
 * The runner thread's young generation, MB (V8's is three semi-spaces). The
 * runner's garbage is per block and short-lived, so a small young
 * generation costs no time: scavenges come more often and each is cheaper
 * (`--trace-gc`, 1M lines, 2 workers: 75 scavenges, 64 ms in all, against
 * 42 and 69 ms when the runner ran on the main thread, whose young
 * generation V8 had grown towards 48 MB).
 */
export const RUNNER_YOUNG_MB = 4;

/** What the runner thread is sent to start a run. */
export interface RunnerData {
  config: RunConfig;
  /** The terminal under stderr, as the main thread sees it: the progress bar is drawn for it. */
  isTTY: boolean;
  columns: number | undefined;
}

/** Thread → main. */
export type RunnerReport = { type: 'stderr'; text: string } | { type: 'done'; summary: Omit<RunSummary, 'fatal'> & { fatal: EncodedError | undefined } } | { type: 'failed'; error: EncodedError };

/** Main → thread. */
export type RunnerCommand = { type: 'start'; data: RunnerData } | { type: 'interrupt'; signal: string } | { type: 'columns'; columns: number | undefined };

// Errors cross as the pool's do (wire/error-codec.ts); the two that program.ts
// maps to exit codes 2 and 3 come back as instances of their classes.
registerError(UsageError);
registerError(ModuleLoadFailure);
const receiveError = (enc: EncodedError): Error => decodeError(enc, 'sluice run');

/** What the main thread lends the run: where stdin comes from, the terminal, and the process's interrupts. */
export interface RunnerIO {
  stdin: Readable;
  stderr: RunIO['stderr'] & { on?(event: 'resize', listener: () => void): unknown; off?(event: 'resize', listener: () => void): unknown };
  interrupts: Interrupts;
}

/**
 * The runner thread, started before the command line is parsed
 * (prestartRunner), with what it did before a run took it: an error or an
 * exit of its own start-up is the run's to report.
 */
let prestarted: { worker: Worker; early: { error?: Error; exited?: number } } | undefined;

function startRunnerThread(): Worker {
  return new Worker(new URL(RUNNER_ENTRY), {
    resourceLimits: { maxYoungGenerationSizeMb: RUNNER_YOUNG_MB },
    // The thread's process.stdin; fed only when the input is '-' (an unread stdin is left alone).
    stdin: true,
  });
}

/**
 * Starts the runner thread now, so that its start-up (a V8 isolate, then
 * the pool's modules: ~90 ms on a 2-core machine) overlaps the main
 * thread's own (loading the CLI, parsing flags) instead of following it.
 * The bin calls this when the command is `run`; the run sends the thread
 * its config when it has one. A thread no run takes ends with the process.
 */
export function prestartRunner(): void {
  if (prestarted !== undefined) return;
  const worker = startRunnerThread();
  const early: { error?: Error; exited?: number } = {};
  worker.on('error', (err) => (early.error ??= err));
  worker.on('exit', (code) => (early.exited = code));
  prestarted = { worker, early };
}

/** runJob(config, io), on the runner thread. Resolves with its summary; rejects with what it threw. */
export function runJobInThread(config: RunConfig, io: RunnerIO): Promise<RunSummary> {
  const data: RunnerData = { config, isTTY: io.stderr.isTTY === true, columns: io.stderr.columns };
  const fromStdin = config.input === '-';
  const worker = prestarted?.worker ?? startRunnerThread();
  const early = prestarted?.early;
  prestarted = undefined;
  if (early?.exited !== undefined) return Promise.reject(early.error ?? new Error(`sluice run: the runner thread exited with code ${early.exited} before it started`));
  worker.postMessage({ type: 'start', data } satisfies RunnerCommand);
  const command = (c: RunnerCommand): void => worker.postMessage(c);
  const onInterrupt = (_count: number, signal: string): void => command({ type: 'interrupt', signal });
  // An interrupt that came before the thread existed is passed on too: the thread counts its own.
  for (let i = 0; i < io.interrupts.count; i++) command({ type: 'interrupt', signal: 'SIGINT' });
  io.interrupts.on('interrupt', onInterrupt);
  const onResize = (): void => command({ type: 'columns', columns: io.stderr.columns });
  if (data.isTTY) io.stderr.on?.('resize', onResize);
  if (fromStdin && worker.stdin !== null) io.stdin.pipe(worker.stdin);

  return new Promise<RunSummary>((resolve, reject) => {
    let outcome: { ok: true; summary: RunSummary } | { ok: false; error: Error } | undefined;
    worker.on('message', (m: RunnerReport) => {
      if (m.type === 'stderr') {
        io.stderr.write(m.text);
        return;
      }
      outcome = m.type === 'done' ? { ok: true, summary: { ...m.summary, fatal: m.summary.fatal === undefined ? undefined : receiveError(m.summary.fatal) } } : { ok: false, error: receiveError(m.error) };
      // The run is over and has closed what it opened; what keeps the thread
      // (its port, a piped stdin) is ended here. Nothing it wrote is lost:
      // Node hands over every message a thread posted before its 'exit'.
      void worker.terminate();
    });
    // An exception the runner did not catch (a bug): reported as such, with its stack.
    if (early?.error !== undefined) outcome = { ok: false, error: early.error };
    worker.on('error', (err) => (outcome ??= { ok: false, error: err }));
    // Settled at the thread's exit, after every message it sent has been handled (Node drains its port first).
    worker.on('exit', (code) => {
      io.interrupts.off('interrupt', onInterrupt);
      if (data.isTTY) io.stderr.off?.('resize', onResize);
      if (fromStdin && worker.stdin !== null) io.stdin.unpipe(worker.stdin);
      if (outcome === undefined) reject(new Error(`sluice run: the runner thread exited with code ${code} before reporting`));
      else if (outcome.ok) resolve(outcome.summary);
      else reject(outcome.error);
    });
  });
}
