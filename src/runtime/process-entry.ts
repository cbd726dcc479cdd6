/**
 * Entry point of a process worker: the same runtime as a thread worker,
 * over the IPC channel. Its init record arrives as argv[2] (JSON).
 */
import { Worker } from 'node:worker_threads';
import { FINISH_OFFSET, Query, REPORT_BYTES, REPORT_FINAL, SHARED_STATE_BYTES, START_RING, type WorkerInit } from '../wire/protocol.js';
import { sendThenDetach } from '../wire/transfer.js';
import { startRuntime } from './runtime.js';

const send = process.send?.bind(process);
if (send === undefined) throw new Error('sluice process-entry must be started by a sluice pool (no IPC channel)');
const init = JSON.parse(process.argv[2] ?? '') as WorkerInit;
// The same shared-state layout as a thread worker's (protocol.ts), shared
// with the watchdog thread below instead of the pool: the runtime marks each
// task's start and finish in it, and the watchdog reports them to the pool
// even while this thread is stuck in a task.
const state = new SharedArrayBuffer(SHARED_STATE_BYTES);

// The parent is gone (exited, crashed, SIGKILLed): its end of the channel
// closed. Never outlive it.
process.on('disconnect', () => process.exit(0));

// 'disconnect' needs this thread's event loop, which a synchronous task can
// hold forever. A watchdog thread notices the parent dying anyway (the child
// is re-parented, so its ppid changes; or EOF on the control pipe) and kills
// the whole process. It runs no user code and skips the parent's execArgv
// (no --import tsx to load). The parent's pid comes from the parent itself
// (argv[3]), not from reading process.ppid in the thread: the parent may die
// before the thread boots.
//
// It also answers the control pipe (fd 4, where the pool forked us with
// one: init.control; fd 4 is otherwise any descriptor Node opened): each
// query byte gets one report of REPORT_BYTES (protocol.ts). A Fence query
// first swaps -1 into the last-started word, which makes the runtime's next
// compare-exchange fail: no task starts after the report, so the pool can
// kill this process and classify its tasks exactly. Int32 loads for the
// words the runtime stores atomically; a start time is written before its
// seq's store, so the times of every seq up to the one reported are whole.
const WATCHDOG = `
const { workerData: { parent, state, control } } = require('node:worker_threads');
const check = () => { if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL'); };
check();
setInterval(check, 250);
if (control) {
  const words = new Int32Array(state);
  let fencedAt = -1;
  const report = (fence) => {
    let last;
    if (fencedAt >= 0) last = fencedAt;
    else if (fence) last = fencedAt = Atomics.exchange(words, 0, -1);
    else last = Atomics.load(words, 0);
    const out = new Uint8Array(${REPORT_BYTES});
    out.set(new Uint8Array(state, 0, ${REPORT_BYTES}));
    const w = new Int32Array(out.buffer);
    w[0] = last;
    w[1] = fencedAt >= 0 ? ${REPORT_FINAL} : 0;
    for (let k = ${FINISH_OFFSET / 4}; k < ${FINISH_OFFSET / 4 + START_RING}; k++) w[k] = Atomics.load(words, k);
    return out;
  };
  const sock = new (require('node:net').Socket)({ fd: 4, readable: true, writable: true });
  sock.on('data', (d) => { for (const b of d) sock.write(report(b === ${Query.Fence})); });
  // EOF: the parent's end closed, so the parent is gone.
  sock.on('end', () => process.kill(process.pid, 'SIGKILL'));
  sock.on('error', () => undefined);
}
`;
const parentPid = Number(process.argv[3]);
if (Number.isInteger(parentPid) && parentPid > 0) {
  new Worker(WATCHDOG, {
    eval: true,
    execArgv: [],
    workerData: { parent: parentPid, state, control: init.control === true },
    name: 'sluice-orphan-watchdog',
    resourceLimits: { maxOldGenerationSizeMb: 8 },
  }).unref();
}

startRuntime(
  {
    // A send on a channel the parent already closed is reported through
    // 'disconnect' above; the callback keeps it from becoming an 'error'.
    // Outputs a task marked with ctx.transfer: a copy plus a detach, as in
    // the pool (wire/transfer.ts), so the task's buffers end detached as on a thread.
    post: (message, transfer) => sendThenDetach(() => send(message, undefined, undefined, () => undefined), transfer),
    onMessage: (listener) => process.on('message', listener as (m: unknown) => void),
  },
  { ...init, state, process: true },
);
