/**
 * The runner thread of `sluice run` (runner-thread.ts starts it and says
 * why it exists). Runs runJob with the thread's stdin, a stderr that writes
 * through the main thread, and interrupts the main thread forwards; reports
 * the summary, or the error the run threw.
 */

import { Writable } from 'node:stream';
import { once } from 'node:events';
import { parentPort } from 'node:worker_threads';
import { needsLoaderHooks } from '../../runtime/loader-flags.js';
import { Interrupts } from '../interrupts.js';
import { runJob } from './runner.js';
import { sendError, type RunnerCommand, type RunnerData, type RunnerReport } from './runner-thread.js';

const port = parentPort;
if (port === null) throw new Error('runner-entry.js runs only as the runner thread of `sluice run`');
// The thread may start before the command line is parsed (prestartRunner): the run's config comes as the first message.
const [start] = (await once(port, 'message')) as [RunnerCommand];
if (start.type !== 'start') throw new Error(`runner thread: expected the start message, got ${start.type}`);
const data: RunnerData = start.data;
const report = (r: RunnerReport): void => port.postMessage(r);

/** stderr, through the main thread's; the same port as the summary, so nothing written overtakes it. */
class ForwardedStderr extends Writable {
  readonly isTTY = data.isTTY;
  columns = data.columns;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    report({ type: 'stderr', text: typeof chunk === 'string' ? chunk : chunk.toString('utf8') });
    done();
  }
}

const stderr = new ForwardedStderr({ decodeStrings: false });
const interrupts = new Interrupts();
port.on('message', (c: RunnerCommand) => {
  if (c.type === 'interrupt') interrupts.trigger(c.signal);
  else if (c.type === 'columns') stderr.columns = c.columns;
});

// `--kind async` imports the task module on this thread: a TypeScript loader the process runs under must reach it.
const nodeOptions = process.env.NODE_OPTIONS;
if (needsLoaderHooks(process.execArgv, nodeOptions)) await (await import('../../runtime/loader-hooks.js')).installLoaderHooks(process.execArgv, nodeOptions);

try {
  const summary = await runJob(data.config, { stdin: process.stdin, stderr, interrupts });
  report({ type: 'done', summary: { ...summary, fatal: summary.fatal === undefined ? undefined : sendError(summary.fatal) } });
} catch (err) {
  report({ type: 'failed', error: sendError(err) });
}
// The main thread ends this thread when the report arrives: the port (and stdin, when piped) would keep it waiting.
