/**
 * Kind 'process': a child process running the same worker runtime as a
 * thread worker (runtime/process-entry.ts), behind the WorkerHandle
 * interface. It buys isolation (its own heap, its own crash, killable by
 * the OS) for ~50 ms of start-up and a serialising pipe instead of shared
 * memory.
 *
 * Knowing when a task started, without shared memory: the runtime posts one
 * `[Op.Started, firstSeq, lastSeq, epochMs]` marker as it picks up each Run
 * batch, before the batch's first task runs (the write goes out before the
 * task can block or kill the process). Tasks of a batch whose marker has not
 * arrived never started: on a crash they are requeued, as on threads. The
 * marker costs one small message per batch, not per task: batches hold one
 * task for long tasks (the auto pipeline keeps one in flight) and many only
 * for tiny ones. The price of per-batch rather than per-task: every task of a
 * picked-up batch counts as started from the batch's start, so a task queued
 * behind a long synchronous one in the same batch is failed, never rerun,
 * when the worker crashes (at-most-once wins over requeueing), and its time
 * limit counts from the batch's start. One gap remains: a marker still
 * queued in a full pipe when the child dies is lost, and its batch then
 * counts as never started and is requeued. The pipe is only full when the
 * parent has fallen far behind reading it.
 *
 * Shutdown: SIGTERM, then SIGKILL after KILL_GRACE_MS. Orphans: the child
 * exits when its IPC channel closes ('disconnect': the parent exited or was
 * killed), and a watchdog thread in the child kills it if its parent changes
 * while the main thread is stuck in a synchronous loop (see process-entry.ts).
 */

import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { PROCESS_ENTRY } from '../entries.js';
import { decodeError } from '../error-codec.js';
import { Op, START_RING, type WorkerInit } from '../protocol.js';
import { DiagRequests, procStatus, type ProcStatus, type WorkerSelfReport } from '../worker-diagnostics.js';
import { inheritedExecArgv } from './exec-argv.js';
import type { ExitInfo, WorkerEvents, WorkerHandle } from './handle.js';

const ENTRY = fileURLToPath(PROCESS_ENTRY);
/** Time between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2000;
const MASK = START_RING - 1;
/**
 * How parent and child serialise messages. 'advanced' (V8 structured clone)
 * carries what a thread worker carries (typed arrays, Map, Set, Date, BigInt,
 * undefined, cycles) and measured faster than JSON for binary payloads and
 * about even for small objects; see docs/kinds.md for the figures.
 */
export const PROCESS_SERIALIZATION = 'advanced';

export interface ProcessSpawnOptions {
  id: number;
  moduleUrl: string;
  corrPrefix: string;
  setup?: string | undefined;
  resourceLimits: { maxOldGenerationSizeMb?: number } | undefined;
  execArgv: string[] | undefined;
  env: Record<string, string | undefined> | undefined;
  heartbeatMs?: number | undefined;
  workerData?: unknown;
}

/** Flags a child must not inherit: a second inspector on the same port fails to start. */
function childExecArgv(base: readonly string[], maxOldMb: number | undefined): string[] {
  const out = [...base];
  if (maxOldMb !== undefined) out.push(`--max-old-space-size=${maxOldMb}`);
  return out;
}

export class ProcessWorker implements WorkerHandle {
  readonly id: number;
  readonly #child: ChildProcess;
  readonly #events: WorkerEvents;
  readonly #diag = new DiagRequests();
  /** Highest seq known to have started, and each started seq's start time. */
  #startedSeq = 0;
  readonly #startTimes = new Float64Array(START_RING);
  #error: unknown;
  #oom = false;
  #exited = false;
  #killTimer: NodeJS.Timeout | undefined;
  #exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #beats = 0;
  #heapUsed: number | undefined;
  #rss: number | undefined;
  #stopTimer: NodeJS.Timeout | undefined;

  constructor(opts: ProcessSpawnOptions, events: WorkerEvents) {
    this.id = opts.id;
    this.#events = events;
    const init: WorkerInit = {
      module: opts.moduleUrl,
      workerId: opts.id,
      state: null,
      corrPrefix: opts.corrPrefix,
      startMarkers: true,
      ...(opts.setup !== undefined ? { setup: opts.setup } : {}),
      ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.workerData !== undefined ? { workerDataByMessage: true } : {}),
    };
    this.#child = fork(ENTRY, [JSON.stringify(init), String(process.pid)], {
      execArgv: childExecArgv(opts.execArgv ?? inheritedExecArgv(), opts.resourceLimits?.maxOldGenerationSizeMb),
      env: opts.env ?? process.env,
      serialization: PROCESS_SERIALIZATION,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const child = this.#child;
    if (opts.workerData !== undefined) child.send([Op.WorkerData, opts.workerData]);
    child.on('message', (msg: unknown[]) => this.#onMessage(msg));
    child.on('error', (err) => {
      // Spawn failures and sends on a closed channel land here; a spawn
      // failure gets no 'exit', so report it as one.
      this.#error ??= err;
      if (child.pid === undefined) this.#onExit(null, null);
    });
    // Report the exit only once the channel has also closed: every marker and
    // result the child wrote is then in, so runningFor() is final.
    child.on('exit', (code, signal) => {
      this.#exitStatus = { code, signal };
      if (!child.connected) this.#onExit(code, signal);
    });
    child.on('disconnect', () => {
      if (this.#exitStatus !== undefined) this.#onExit(this.#exitStatus.code, this.#exitStatus.signal);
    });
    this.#forward(child.stdout, process.stdout, false);
    this.#forward(child.stderr, process.stderr, true);
  }

  /** The child's pid (tests and diagnostics). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  #onMessage(msg: unknown[]): void {
    if (!Array.isArray(msg)) return;
    switch (msg[0]) {
      case Op.Results:
        this.#events.results(this, msg);
        break;
      case Op.Started: {
        const first = msg[1] as number;
        const last = msg[2] as number;
        const at = msg[3] as number;
        for (let s = first; s <= last; s++) this.#startTimes[s & MASK] = at;
        if (last > this.#startedSeq) this.#startedSeq = last;
        this.#events.started(this, first, last);
        break;
      }
      case Op.Beat:
        this.#beats++;
        this.#heapUsed = msg[1] as number;
        this.#rss = msg[2] as number;
        break;
      case Op.Ready:
        this.#events.ready(this, msg[1] as string[], msg[2] as number | undefined);
        break;
      case Op.HealthReply:
        this.#events.health?.(this, msg[2] as boolean, msg[3] as string | undefined);
        break;
      case Op.InitError:
        this.#events.initError(this, msg[1] as Parameters<typeof decodeError>[0], msg[2] as string | undefined);
        break;
      case Op.DiagReply:
        this.#diag.reply(msg[1] as number, msg[2] as WorkerSelfReport);
        break;
      default:
        break;
    }
  }

  /** Prefixes each line of the child's output with its worker id. */
  #forward(from: Readable | null, to: NodeJS.WritableStream, isErr: boolean): void {
    if (from === null) return;
    const prefix = `[sluice worker ${this.id}] `;
    createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => {
      // V8's own heap-limit death: report it as 'oom', like a thread's ERR_WORKER_OUT_OF_MEMORY.
      if (isErr && line.includes('JavaScript heap out of memory')) this.#oom = true;
      to.write(prefix + line + '\n');
    });
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#diag.cancelAll();
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer);
    if (this.#stopTimer !== undefined) clearTimeout(this.#stopTimer);
    const info: ExitInfo = { code, signal, error: this.#error, oom: this.#oom };
    this.#events.exit(this, info);
  }

  send(message: unknown[]): void {
    // A closed channel means the exit event is on its way; it requeues what
    // never started, so there is nothing to report here. Throwing would read
    // as an unserialisable input.
    if (!this.#child.connected) return;
    this.#child.send(message);
  }

  startedAt(seq: number): number | undefined {
    if (seq > this.#startedSeq) return undefined;
    return this.#startTimes[seq & MASK];
  }

  async diagnose(): Promise<{ self: WorkerSelfReport | undefined; pid: number | undefined; proc: ProcStatus | undefined }> {
    const pid = this.#child.pid;
    const self = this.#exited || !this.#child.connected ? undefined : await this.#diag.request((id) => this.#child.send([Op.Diag, id]));
    return { self, pid, proc: pid === undefined || this.#exited ? undefined : procStatus(pid) };
  }

  terminate(): void {
    if (this.#exited || this.#killTimer !== undefined) return;
    const child = this.#child;
    child.kill('SIGTERM');
    this.#killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    this.#killTimer.unref();
  }

  beats(): number {
    return this.#beats;
  }

  heapUsed(): number | undefined {
    return this.#heapUsed;
  }

  rss(): number | undefined {
    return this.#rss;
  }

  stop(graceMs: number): void {
    if (this.#exited || this.#stopTimer !== undefined || this.#killTimer !== undefined) return;
    if (!this.#child.connected) {
      this.terminate();
      return;
    }
    this.#child.send([Op.Close]);
    this.#stopTimer = setTimeout(() => this.terminate(), graceMs);
    this.#stopTimer.unref();
  }

  /** Sends a signal (SIGUSR2 for a diagnostic report where the child was started with --report-on-signal). */
  signal(sig: NodeJS.Signals): void {
    if (!this.#exited) this.#child.kill(sig);
  }

  /** Keeps or stops this worker from holding the parent's event loop open. */
  ref(on: boolean): void {
    const c = this.#child;
    const handles = [c, c.channel, c.stdout, c.stderr] as ({ ref?(): void; unref?(): void } | null | undefined)[];
    for (const h of handles) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }
}
