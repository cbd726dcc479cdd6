/**
 * Kind 'process': a child process running the same worker runtime as a
 * thread worker (runtime/process-entry.ts), behind the WorkerHandle
 * interface. It buys isolation (its own heap, its own crash, killable by
 * the OS) for ~50 ms of start-up and a serialising pipe instead of shared
 * memory.
 *
 * Knowing which tasks started and finished, without memory shared with the
 * pool. Three sources, from cheapest to most exact:
 * - Batch markers. The runtime posts one `[Op.Started, firstSeq, lastSeq,
 *   epochMs]` as it picks up each Run batch, before the batch's first task
 *   runs (the write goes out before the task can block or kill the process).
 *   The first task of the batch started then; tasks start in seq order, so
 *   every earlier seq started too; the batch's later tasks only *may* have,
 *   and `startedAt` counts them as started from the batch's start
 *   (conservative: a task behind a stuck one is failed, not rerun, and its
 *   time limit counts from the batch's start) until a report says
 *   otherwise. Tasks of a batch whose marker has not arrived never started.
 *   One small message per batch, not per task.
 * - Results. A result for a seq means it finished, and that every seq up to
 *   it started.
 * - Reports (protocol.ts): the child marks every start and finish in a
 *   shared state of its own, which its watchdog thread copies out on
 *   request over the control pipe (fd 4) even while the main thread is
 *   stuck in a task (`probe()`), and which the runtime sends as its final
 *   words when a task calls process.exit() or an uncaught exception ends
 *   it, after every buffered result. A report is exact as of when it was
 *   taken: seqs up to its last started one started (with their own start
 *   times), later ones had not, and it says which finished. `terminate()`
 *   asks for a fenced report first (the runtime starts nothing after it)
 *   and only then sends SIGTERM, so a worker the pool kills for a timeout,
 *   a stall or an abort grace has its tasks classified exactly.
 * Gaps: a marker or final report still queued in a full IPC pipe when the
 * child dies is lost (its batch then counts as never started, or the
 * conservative markers stand); the pipe is only full when the parent has
 * fallen far behind reading it. A worker that dies with no report (killed
 * from outside, out of memory, a native crash) is judged by the markers and
 * any earlier probe. A task that finishes between a fenced report and the
 * SIGTERM, and whose result does not make it out, counts as running.
 *
 * Shutdown: a fenced probe (at most PROBE_TIMEOUT_MS), SIGTERM, then SIGKILL
 * after KILL_GRACE_MS. Orphans: the child exits when its IPC channel closes
 * ('disconnect': the parent exited or was killed), and its watchdog thread
 * kills it on EOF of the control pipe or when its parent changes, while the
 * main thread is stuck in a synchronous loop (see process-entry.ts).
 */

import { fork, type ChildProcess } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { PROCESS_ENTRY } from '../entries.js';
import type { Transferable } from '../api/types.js';
import { FINISH_OFFSET, Op, Query, REPORT_BYTES, REPORT_FINAL, START_RING, Status, type WorkerInit } from '../wire/protocol.js';
import { sendThenDetach } from '../wire/transfer.js';
import { DiagRequests, procCpu, procStatus, type DiagnoseResult } from '../observability/worker-diagnostics.js';
import { inheritedExecArgv } from './exec-argv.js';
import { dispatchCommon } from './messages.js';
import type { ExitInfo, WorkerEvents, WorkerHandle } from './handle.js';

const ENTRY = fileURLToPath(PROCESS_ENTRY);
/** Time between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2000;
const MASK = START_RING - 1;
/** How long a probe waits for the watchdog's report: it answers in well under a millisecond unless the machine is starved. */
export const PROBE_TIMEOUT_MS = 200;
/**
 * How long a reported exit waits for the control pipe to close after the
 * process is gone and its IPC channel closed (the pipe's data must be
 * merged first). It closes with the process; the bound only guards against
 * a descendant that somehow holds the child's end.
 */
const CONTROL_CLOSE_MS = 1000;
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
  /** Added niceness (`worker.nice`): the child runs at a lower scheduling priority. */
  nice?: number | undefined;
  /** CPUs to pin the child to, and the `taskset` that does it (`worker.cpus`). */
  cpus?: { list: readonly number[]; taskset: string } | undefined;
}

/**
 * The child's Node flags: the inherited ones (inheritedExecArgv already drops
 * --inspect*, since a second inspector on the same port fails to start), plus
 * the heap limit from `resourceLimits.maxOldGenerationSizeMb`.
 */
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
  /** Every seq up to this one started (batch markers' first tasks, results, reports). */
  #exact = 0;
  /** Seqs above #exact up to this one may have started (the rest of the last picked-up batch): counted as started. */
  #maybe = 0;
  /** The last started seq of the newest report: a marker whose first seq is at or below it is older than the report. */
  #reportedSeq = 0;
  /** A final report came (fenced, or the child's last words): nothing started after it. */
  #final = false;
  /** Each started seq's start time (the batch's, until a report gives the task's own). */
  readonly #startTimes = new Float64Array(START_RING);
  /** `seq & MASK` holds seq once that task finished (its result arrived, or a report said so). */
  readonly #finished = new Int32Array(START_RING);
  /** The control pipe (fd 4), the report being read from it, and the probes waiting for one. */
  readonly #control: Socket | null;
  readonly #reply = new Uint8Array(REPORT_BYTES);
  #replyLen = 0;
  #queries = 0;
  #replies = 0;
  readonly #probes: { n: number; done: () => void }[] = [];
  #controlClosed = false;
  /** Bounds the wait for the control pipe to close once the process has exited (CONTROL_CLOSE_MS). */
  #closeTimer: NodeJS.Timeout | undefined;
  #terminating = false;
  #error: unknown;
  #oom = false;
  #exited = false;
  /** Its final words said it ended itself while running no task (Op.Leaving). */
  #leftIdle = false;
  /** It said it is ending itself (Op.Leaving): its exit is on the way. */
  #leaving = false;
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
      control: true,
      ...(opts.setup !== undefined ? { setup: opts.setup } : {}),
      ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.workerData !== undefined ? { workerDataByMessage: true } : {}),
    };
    const execArgv = childExecArgv(opts.execArgv ?? inheritedExecArgv(), opts.resourceLimits?.maxOldGenerationSizeMb);
    // Pinned: taskset execs node in place (same pid, the IPC channel and fd 4 inherited), so the affinity holds from the first instruction.
    const pin = opts.cpus === undefined ? {} : { execPath: opts.cpus.taskset, execArgv: ['-c', opts.cpus.list.join(','), process.execPath, ...execArgv] };
    this.#child = fork(ENTRY, [JSON.stringify(init), String(process.pid)], {
      execArgv,
      ...pin,
      env: opts.env ?? process.env,
      serialization: PROCESS_SERIALIZATION,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc', 'pipe'],
    });
    const child = this.#child;
    if (opts.nice !== undefined && opts.nice > 0 && child.pid !== undefined) {
      try {
        setPriority(child.pid, Math.min(19, getPriority() + opts.nice));
      } catch {
        // Lowering a child's priority is always allowed; a child that is already gone is not an error.
      }
    }
    this.#control = (child.stdio[4] as Socket | null | undefined) ?? null;
    if (this.#control === null) this.#controlClosed = true;
    else {
      const control = this.#control;
      control.on('data', (chunk: Buffer) => this.#onControl(chunk));
      // EPIPE and the like: the child is gone, and its exit is on the way.
      control.on('error', () => undefined);
      control.on('close', () => {
        this.#controlClosed = true;
        this.#settleProbes(true);
        this.#maybeExited();
      });
    }
    if (opts.workerData !== undefined) child.send([Op.WorkerData, opts.workerData]);
    child.on('message', (msg: unknown[]) => this.#onMessage(msg));
    child.on('error', (err) => {
      // Spawn failures and sends on a closed channel land here; a spawn
      // failure gets no 'exit', so report it as one.
      this.#error ??= err;
      if (child.pid === undefined) this.#onExit(null, null);
    });
    // Report the exit only once the channel and the control pipe have also
    // closed: every marker, result and report the child wrote is then in,
    // so startedAt() and finished() are final.
    child.on('exit', (code, signal) => {
      this.#exitStatus = { code, signal };
      this.#maybeExited();
    });
    child.on('disconnect', () => this.#maybeExited());
    this.#forward(child.stdout, process.stdout, false);
    this.#forward(child.stderr, process.stderr, true);
  }

  leaving(): boolean {
    return this.#leaving;
  }

  /** The child's pid (tests and diagnostics). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  #maybeExited(): void {
    const status = this.#exitStatus;
    if (status === undefined || this.#child.connected || this.#exited) return;
    if (this.#controlClosed) {
      this.#onExit(status.code, status.signal);
      return;
    }
    if (this.#closeTimer === undefined) {
      this.#closeTimer = setTimeout(() => {
        this.#controlClosed = true;
        this.#maybeExited();
      }, CONTROL_CLOSE_MS);
    }
  }

  #onMessage(msg: unknown[]): void {
    if (!Array.isArray(msg)) return;
    switch (msg[0]) {
      case Op.Results: {
        // Finished, and (tasks start in seq order) everything up to it
        // started. Not a revoked one: it never ran, and may be answered
        // while tasks before it still wait.
        const fin = this.#finished;
        let top = this.#exact;
        for (let i = 1; i < msg.length; i += 3) {
          if (msg[i + 1] === Status.Revoked) continue;
          const seq = msg[i] as number;
          fin[seq & MASK] = seq;
          if (seq > top) top = seq;
        }
        if (top > this.#exact && !this.#final) {
          this.#exact = top;
          if (top > this.#maybe) this.#maybe = top;
        }
        this.#events.results(this, msg);
        break;
      }
      case Op.Started: {
        const first = msg[1] as number;
        const last = msg[2] as number;
        const at = msg[3] as number;
        // After a final report nothing started that it does not name: the
        // marker was sent before the fence, and its tasks were held back.
        if (!this.#final) {
          for (let s = first > this.#exact ? first : this.#exact + 1; s <= last; s++) this.#startTimes[s & MASK] = at;
          if (first > this.#exact) this.#exact = first;
          // A batch picked up after the newest report was taken: the report
          // knows nothing of its later tasks, so they may have started.
          if (first > this.#reportedSeq && last > this.#maybe) this.#maybe = last;
        }
        this.#events.started(this, first, last);
        break;
      }
      case Op.Report:
        this.#merge(msg[1] as Uint8Array);
        break;
      case Op.Leaving:
        this.#leaving = true;
        this.#leftIdle = msg[1] === 1;
        break;
      case Op.Beat:
        this.#beats++;
        this.#heapUsed = msg[1] as number;
        this.#rss = msg[2] as number;
        break;
      default:
        // Op.Ready, Op.HealthReply, Op.InitError, Op.DiagReply: as for every kind.
        dispatchCommon(this, this.#events, this.#diag, msg);
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
    this.#settleProbes(true);
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer);
    if (this.#stopTimer !== undefined) clearTimeout(this.#stopTimer);
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    const info: ExitInfo = { code, signal, error: this.#error, oom: this.#oom, idle: this.#leftIdle };
    this.#events.exit(this, info);
  }

  /**
   * Serialises the message into the pipe. A transfer list cannot move
   * anything to another process, so it is honoured as a copy plus a detach
   * (wire/transfer.ts): refused as postMessage would refuse it, before
   * anything is sent, and detached once the message is serialised (send
   * serialises synchronously), so the caller sees what a thread's caller sees.
   */
  send(message: unknown[], transfer?: readonly Transferable[]): void {
    // A closed channel means the exit event is on its way; it requeues what
    // never started, so there is nothing to report here. Throwing would read
    // as an unserialisable input.
    if (!this.#child.connected) return;
    sendThenDetach(() => this.#child.send(message), transfer);
  }

  startedAt(seq: number): number | undefined {
    if (seq > this.#maybe) return undefined;
    return this.#startTimes[seq & MASK];
  }

  finished(seq: number): boolean {
    return this.#finished[seq & MASK] === seq;
  }

  /**
   * Asks the watchdog thread for a report (protocol.ts) and merges it.
   * Settles when it comes, after PROBE_TIMEOUT_MS, or when the pipe closes,
   * whichever is first; never rejects.
   */
  probe(): Promise<void> {
    return this.#query(Query.Probe);
  }

  #query(q: Query): Promise<void> {
    const control = this.#control;
    if (this.#exited || this.#controlClosed || control === null || !control.writable) return Promise.resolve();
    const n = ++this.#queries;
    return new Promise((resolve) => {
      // Not unref'd: the caller (a kill, a timeout decision) waits on it.
      const timer = setTimeout(() => done(), PROBE_TIMEOUT_MS);
      const entry = {
        n,
        done: (): void => {
          clearTimeout(timer);
          const i = this.#probes.indexOf(entry);
          if (i !== -1) this.#probes.splice(i, 1);
          resolve();
        },
      };
      const done = entry.done;
      this.#probes.push(entry);
      control.write(Buffer.of(q));
    });
  }

  /** Settles the probes answered so far (the child answers every query byte, in order), or all of them. */
  #settleProbes(all: boolean): void {
    for (const p of this.#probes.slice()) if (all || p.n <= this.#replies) p.done();
  }

  #onControl(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(REPORT_BYTES - this.#replyLen, chunk.length - at);
      this.#reply.set(chunk.subarray(at, at + take), this.#replyLen);
      this.#replyLen += take;
      at += take;
      if (this.#replyLen === REPORT_BYTES) {
        this.#replyLen = 0;
        this.#replies++;
        this.#merge(this.#reply);
      }
    }
    this.#settleProbes(false);
  }

  /**
   * Folds a report into this worker's view. It is exact as of when it was
   * taken: every seq up to its last started one started; the ones above it
   * had not, which overrides the conservative markers for the batches it
   * saw, unless something newer (a marker, a result) already showed the
   * worker moved on since.
   */
  #merge(report: Uint8Array): void {
    // One from the IPC channel may sit at any offset of its buffer; the typed views need alignment.
    const bytes = report.byteOffset % 8 === 0 ? report : report.slice();
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, REPORT_BYTES >> 2);
    const times = new Float64Array(bytes.buffer, bytes.byteOffset + 8, START_RING);
    const fin = new Int32Array(bytes.buffer, bytes.byteOffset + FINISH_OFFSET, START_RING);
    const last = words[0] as number;
    const final = ((words[1] as number) & REPORT_FINAL) !== 0;
    // Only the tasks that can be in flight: the ring holds the last START_RING seqs.
    const low = Math.max(1, last - START_RING + 1, this.#maybe - START_RING + 1);
    for (let s = low; s <= last; s++) this.#startTimes[s & MASK] = times[s & MASK] as number;
    for (let k = 0; k < START_RING; k++) {
      const f = fin[k] as number;
      if (f > (this.#finished[k] as number)) this.#finished[k] = f;
    }
    if (this.#final) return;
    const fresh = last >= this.#exact;
    if (last > this.#exact) this.#exact = last;
    if (last > this.#reportedSeq) this.#reportedSeq = last;
    if (final) {
      this.#final = true;
      this.#exact = last;
      this.#maybe = last;
    } else if (fresh) {
      this.#maybe = this.#exact;
    }
  }

  async diagnose(): Promise<DiagnoseResult> {
    const pid = this.#child.pid;
    const self = this.#exited || !this.#child.connected ? undefined : await this.#diag.request((id) => this.#child.send([Op.Diag, id]));
    if (pid === undefined || this.#exited) return { self, pid, proc: undefined };
    // What /proc and the last beat say, whether or not the child answered.
    const proc = procStatus(pid);
    const cpu = procCpu(pid);
    const parent = { rss: proc?.rss ?? this.#rss, heapUsed: this.#heapUsed, cpuUserMs: cpu?.userMs, cpuSystemMs: cpu?.systemMs };
    return { self, pid, proc, parent };
  }

  /**
   * A fenced probe first (bounded by PROBE_TIMEOUT_MS): the child starts
   * nothing after its report, so the exit that follows classifies every
   * task exactly. Then SIGTERM, and SIGKILL after KILL_GRACE_MS.
   */
  terminate(): void {
    if (this.#exited || this.#terminating) return;
    this.#terminating = true;
    const child = this.#child;
    void this.#query(Query.Fence).then(() => {
      if (this.#exited) return;
      child.kill('SIGTERM');
      this.#killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      this.#killTimer.unref();
    });
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
    if (this.#exited || this.#stopTimer !== undefined || this.#terminating) return;
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
    const handles = [c, c.channel, c.stdout, c.stderr, this.#control] as ({ ref?(): void; unref?(): void } | null | undefined)[];
    for (const h of handles) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }
}
