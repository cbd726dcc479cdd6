/**
 * The runner thread of `sluice run` (runner-thread.ts starts it and says
 * why it exists). Runs runJob with the thread's stdin, a stderr that writes
 * through the main thread, and interrupts the main thread forwards; reports
 * the summary, or the error the run threw.
 *
 * No top-level await here: the main thread ends this thread with
 * `terminate()` once the report arrives, and terminating a thread whose
 * entry module is still being evaluated (as a module with top-level await
 * is until its last await settles) crashed Node 22's V8 ("Check failed:
 * (location_) != nullptr" in SourceTextModule::ExecuteAsyncModule).
 */

import { Writable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { needsLoaderHooks } from '../../runtime/loader-flags.js';
import { Interrupts } from '../interrupts.js';
import { runJob } from './runner.js';
import { encodeError } from '../../wire/error-codec.js';
import type { RunnerCommand, RunnerData, RunnerReport } from './runner-thread.js';

const port = parentPort;
if (port === null) throw new Error('runner-entry.js runs only as the runner thread of `sluice run`');
const report = (r: RunnerReport): void => port.postMessage(r);

/** stderr, through the main thread's; the same port as the summary, so nothing written overtakes it. */
class ForwardedStderr extends Writable {
  readonly isTTY: boolean;
  columns: number | undefined;
  constructor(data: RunnerData) {
    super({ decodeStrings: false });
    this.isTTY = data.isTTY;
    this.columns = data.columns;
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    report({ type: 'stderr', text: typeof chunk === 'string' ? chunk : chunk.toString('utf8') });
    done();
  }
}

async function run(data: RunnerData, stderr: ForwardedStderr, interrupts: Interrupts): Promise<void> {
  try {
    // `--kind async` imports the task module on this thread: a TypeScript loader the process runs under must reach it.
    const nodeOptions = process.env.NODE_OPTIONS;
    if (needsLoaderHooks(process.execArgv, nodeOptions)) await (await import('../../runtime/loader-hooks.js')).installLoaderHooks(process.execArgv, nodeOptions);
    const summary = await runJob(data.config, { stdin: process.stdin, stderr, interrupts });
    report({ type: 'done', summary: { ...summary, fatal: summary.fatal === undefined ? undefined : encodeError(summary.fatal) } });
  } catch (err) {
    report({ type: 'failed', error: encodeError(err) });
  }
  // The main thread ends this thread when the report arrives: the port (and stdin, when piped) would keep it waiting.
}

// The thread may start before the command line is parsed (prestartRunner): the run's config comes as the first message.
let started: { stderr: ForwardedStderr; interrupts: Interrupts } | undefined;
port.on('message', (c: RunnerCommand) => {
  if (c.type === 'start') {
    if (started !== undefined) return;
    started = { stderr: new ForwardedStderr(c.data), interrupts: new Interrupts() };
    void run(c.data, started.stderr, started.interrupts);
  } else if (c.type === 'interrupt') {
    started?.interrupts.trigger(c.signal);
  } else {
    if (started !== undefined) started.stderr.columns = c.columns;
  }
});
