import type { Transferable } from '../api/types.js';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { FINISH_OFFSET, HEAP_OFFSET, Op, SHARED_STATE_BYTES, START_RING, type WorkerInit } from '../wire/protocol.js';
import { bufferPaths, reviveMessage } from '../wire/values.js';
import { THREAD_ENTRY as ENTRY } from '../entries.js';
import { inheritedExecArgv } from './exec-argv.js';
import { DiagRequests, type DiagnoseResult } from '../observability/worker-diagnostics.js';
import { dispatchCommon } from './messages.js';
import type { ExitInfo, WorkerEvents, WorkerHandle } from './handle.js';

/** The inherited flags threads accept, once a Worker has refused some (see the constructor). */
let threadExecArgv: string[] | undefined;

/** The flags named by ERR_WORKER_INVALID_EXEC_ARGV ("... invalid execArgv flags: --a, --b"), or undefined for any other error. */
function refusedFlags(err: unknown): Set<string> | undefined {
  if ((err as { code?: unknown } | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return undefined;
  const list = /flags?: (.*)$/.exec((err as Error).message)?.[1];
  if (list === undefined) return undefined;
  return new Set(list.split(/,\s*/).map((f) => f.trim()).filter((f) => f.length > 0));
}

export interface ThreadSpawnOptions {
  id: number;
  moduleUrl: string;
  corrPrefix: string;
  setup?: string | undefined;
  resourceLimits: ResourceLimitsLike | undefined;
  execArgv: string[] | undefined;
  env: Record<string, string | undefined> | undefined;
  heartbeatMs?: number | undefined;
  workerData?: unknown;
}

interface ResourceLimitsLike {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

const MASK = START_RING - 1;

/**
 * A worker_threads worker behind the WorkerHandle interface. Its starts and
 * finishes are exact and need no message: the runtime marks both in memory
 * shared with this handle (protocol.ts), and they hold still once the thread
 * is gone. Buffered results go out before a task's process.exit() or an
 * uncaught exception ends the thread (runtime.ts); only a terminate() loses
 * them, and `finished()` then tells the pool which results were lost.
 *
 * Buffers cross as Buffers: postMessage makes them Uint8Arrays, so the
 * runtime marks outputs and progress that hold them and this handle
 * rebuilds them (wire/values.ts); inputs are marked by engine/dispatch.ts,
 * the workerData here.
 */
export class ThreadWorker implements WorkerHandle {
  readonly id: number;
  #worker: Worker;
  #started: Int32Array;
  #startTimes: Float64Array;
  #beats: Int32Array;
  #heap: Float64Array;
  #finished: Int32Array;
  #stopTimer: NodeJS.Timeout | undefined;
  #error: unknown;
  #exited = false;
  /** Its final words said it ended itself while running no task (Op.Leaving). */
  #leftIdle = false;
  /** It said it is ending itself (Op.Leaving): its exit is on the way. */
  #leaving = false;
  readonly #diag = new DiagRequests();

  constructor(opts: ThreadSpawnOptions, events: WorkerEvents) {
    this.id = opts.id;
    const state = new SharedArrayBuffer(SHARED_STATE_BYTES);
    this.#started = new Int32Array(state, 0, 1);
    this.#startTimes = new Float64Array(state, 8, START_RING);
    this.#beats = new Int32Array(state, 4, 1);
    this.#heap = new Float64Array(state, HEAP_OFFSET, 1);
    this.#finished = new Int32Array(state, FINISH_OFFSET, START_RING);
    const init: WorkerInit = {
      module: opts.moduleUrl,
      workerId: opts.id,
      state,
      corrPrefix: opts.corrPrefix,
      ...(opts.setup !== undefined ? { setup: opts.setup } : {}),
      ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.workerData !== undefined ? { workerData: opts.workerData } : {}),
    };
    const wd = opts.workerData;
    const wdBuffers = bufferPaths(wd);
    if (wdBuffers !== null) init.workerDataBuffers = wdBuffers;
    const options = (execArgv: string[]) => ({
      workerData: init,
      resourceLimits: opts.resourceLimits,
      execArgv,
      ...(opts.env !== undefined ? { env: opts.env } : {}),
      name: `sluice-worker-${opts.id}`,
    });
    if (opts.execArgv !== undefined) this.#worker = new Worker(ENTRY, options(opts.execArgv));
    else {
      const argv = threadExecArgv ?? inheritedExecArgv();
      try {
        this.#worker = new Worker(ENTRY, options(argv));
      } catch (err) {
        // Process-wide flags of the parent (--expose-gc, V8 heap sizes...)
        // cannot be given to a thread: drop the ones Node names and retry,
        // once per process.
        const refused = refusedFlags(err);
        if (refused === undefined) throw err;
        threadExecArgv = argv.filter((a) => !refused.has(a.includes('=') ? a.slice(0, a.indexOf('=')) : a) && !refused.has(a));
        this.#worker = new Worker(ENTRY, options(threadExecArgv));
      }
    }
    this.#worker.on('message', (msg: unknown[]) => {
      // Outputs or progress holding Buffers (rare): rebuilt before the pool sees them.
      if (msg[0] === Op.ResultsBuffers || msg[0] === Op.ProgressBuffers) reviveMessage(msg);
      if (!dispatchCommon(this, events, this.#diag, msg) && msg[0] === Op.Leaving) {
        this.#leaving = true;
        this.#leftIdle = msg[1] === 1;
      }
    });
    this.#worker.on('error', (err) => {
      this.#error = err;
    });
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      if (this.#stopTimer !== undefined) clearTimeout(this.#stopTimer);
      this.#diag.cancelAll();
      const err = this.#error as { code?: string } | undefined;
      const info: ExitInfo = { code, signal: null, error: this.#error, oom: err?.code === 'ERR_WORKER_OUT_OF_MEMORY', idle: this.#leftIdle };
      events.exit(this, info);
    });
  }

  send(message: unknown[], transfer?: readonly Transferable[]): void {
    this.#worker.postMessage(message, transfer as Transferable[] | undefined);
  }

  leaving(): boolean {
    return this.#leaving;
  }

  startedAt(seq: number): number | undefined {
    // The shared words are Int32: after 2^31 tasks on one worker they wrap, so compare in Int32 too.
    if (Atomics.load(this.#started, 0) - (seq | 0) < 0) return undefined;
    return this.#startTimes[seq & MASK];
  }

  finished(seq: number): boolean {
    return Atomics.load(this.#finished, seq & MASK) === (seq | 0);
  }

  async diagnose(): Promise<DiagnoseResult> {
    const self = this.#exited ? undefined : await this.#diag.request((id) => this.#worker.postMessage([Op.Diag, id]));
    if (this.#exited) return { self, pid: undefined, proc: undefined };
    // Read from this side, so they answer even while the thread is busy: its
    // event-loop utilization, the process's RSS (threads share it), the last beat's heap.
    const parent = { eventLoopUtilization: this.#worker.performance.eventLoopUtilization().utilization, rss: process.memoryUsage.rss(), heapUsed: this.heapUsed() };
    return { self, pid: undefined, proc: undefined, parent };
  }

  terminate(): void {
    if (this.#exited) return;
    // terminate() settles when the thread is gone; the 'exit' event reports it.
    this.#worker.terminate().catch(() => undefined);
  }

  beats(): number {
    return Atomics.load(this.#beats, 0);
  }

  heapUsed(): number | undefined {
    const h = this.#heap[0] as number;
    return h > 0 ? h : undefined;
  }

  stop(graceMs: number): void {
    if (this.#exited || this.#stopTimer !== undefined) return;
    try {
      this.#worker.postMessage([Op.Close]);
    } catch {
      this.terminate();
      return;
    }
    this.#stopTimer = setTimeout(() => this.terminate(), graceMs);
    this.#stopTimer.unref();
  }

  /** Keeps or stops this worker from holding the parent's event loop open. */
  ref(on: boolean): void {
    if (on) this.#worker.ref();
    else this.#worker.unref();
  }

  /** The worker's event-loop utilization (the scaler's per-worker busy signal; see cpu-signal.ts). */
  eventLoopUtilization(a?: EventLoopUtilization, b?: EventLoopUtilization): EventLoopUtilization {
    return this.#worker.performance.eventLoopUtilization(a, b);
  }
}
