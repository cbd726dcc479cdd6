/**
 * Entry point of a process worker: the same runtime as a thread worker,
 * over the IPC channel. Its init record arrives as argv[2] (JSON).
 */
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from '../protocol.js';
import { startRuntime } from './runtime.js';

const send = process.send?.bind(process);
if (send === undefined) throw new Error('sluice process-entry must be started by a sluice pool (no IPC channel)');
const init = JSON.parse(process.argv[2] ?? '') as WorkerInit;

// The parent is gone (exited, crashed, SIGKILLed): its end of the channel
// closed. Never outlive it.
process.on('disconnect', () => process.exit(0));

// 'disconnect' needs this thread's event loop, which a synchronous task can
// hold forever. A watchdog thread notices the parent dying anyway (the child
// is re-parented, so its ppid changes) and kills the whole process. It runs
// no user code and skips the parent's execArgv (no --import tsx to load).
// The parent's pid comes from the parent itself (argv[3]), not from reading
// process.ppid in the thread: the parent may die before the thread boots.
const WATCHDOG = `
const { workerData: parent } = require('node:worker_threads');
const check = () => { if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL'); };
check();
setInterval(check, 250);
`;
const parentPid = Number(process.argv[3]);
if (Number.isInteger(parentPid) && parentPid > 0) {
  new Worker(WATCHDOG, { eval: true, execArgv: [], workerData: parentPid, name: 'sluice-orphan-watchdog', resourceLimits: { maxOldGenerationSizeMb: 8 } }).unref();
}

startRuntime(
  {
    // A send on a channel the parent already closed is reported through
    // 'disconnect' above; the callback keeps it from becoming an 'error'.
    post: (message) => {
      send(message, undefined, undefined, () => undefined);
    },
    onMessage: (listener) => process.on('message', listener as (m: unknown) => void),
  },
  init,
);
