/**
 * Per-worker diagnostics: the guide's diagnostic hooks (RSS, thread counts,
 * context switches) as data. Two sources, so a busy worker is still
 * described truthfully:
 *
 * - what the parent can read without the worker's help: a thread's
 *   event-loop utilization (`worker.performance`), the shared process's RSS
 *   and the heap figure of the last heartbeat; a process's RSS, CPU times,
 *   context switches, file descriptors and threads from /proc, and its last
 *   beat's heap;
 * - what only the worker can say (its heap in full, a process's event-loop
 *   utilization), asked for with a message that a worker busy in a
 *   synchronous task cannot answer.
 *
 * `reported: false` means the second part is missing: those fields are
 * `undefined`, never zeros; the first part is there either way.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** What a worker reports about itself (collected inside the worker). */
export interface WorkerSelfReport {
  heapUsed: number;
  heapTotal: number;
  /** Resident set of the worker's process: for a thread worker, the whole pool's process. */
  rss: number;
  external: number;
  /** Event-loop utilization since the worker started, 0..1. */
  eventLoopUtilization: number;
  /** CPU time in ms: the worker process's (process workers) or, for threads, undefined (Node 20 has no per-thread CPU clock). */
  cpuUserMs: number | undefined;
  cpuSystemMs: number | undefined;
}

export interface ProcStatus {
  rss: number | undefined;
  threads: number | undefined;
  voluntaryContextSwitches: number | undefined;
  involuntaryContextSwitches: number | undefined;
  openFds: number | undefined;
}

/** What the parent reads about a worker without its help (see the file's comment); undefined where it cannot. */
export interface ParentReading {
  heapUsed?: number | undefined;
  rss?: number | undefined;
  eventLoopUtilization?: number | undefined;
  cpuUserMs?: number | undefined;
  cpuSystemMs?: number | undefined;
}

/** What `WorkerHandle.diagnose()` gathers: the worker's answer (undefined if none came), and the parent's own readings. */
export interface DiagnoseResult {
  self: WorkerSelfReport | undefined;
  pid: number | undefined;
  proc: ProcStatus | undefined;
  parent?: ParentReading | undefined;
}

export interface WorkerDiagnostics {
  /**
   * False when the worker did not answer in time (busy in a synchronous
   * task): the fields only it can give (`heapTotal`, `external`, a
   * process's `eventLoopUtilization`, and `heapUsed` without heartbeats)
   * are then undefined; what the parent reads is there either way.
   */
  reported: boolean;
  /** The worker's V8 heap; from the last heartbeat when the worker did not answer. */
  heapUsed: number | undefined;
  heapTotal: number | undefined;
  external: number | undefined;
  /** Resident set: for a thread worker, the whole pool's process (read by the parent); for a process, the child's (/proc). */
  rss: number | undefined;
  /** Since the worker started, 0..1. Threads: read by the parent, so a busy thread reads near 1. Processes: the child's answer. */
  eventLoopUtilization: number | undefined;
  /** CPU time in ms: a process's (from /proc when it does not answer); undefined for threads (Node 20 has no per-thread CPU clock). */
  cpuUserMs: number | undefined;
  cpuSystemMs: number | undefined;
  workerId: number;
  kind: 'thread' | 'process' | 'async';
  pid: number | undefined;
  /** Tasks in flight on it and completed over its life. */
  inflight: number;
  completed: number;
  /** From /proc for process workers on Linux; undefined elsewhere. */
  proc: ProcStatus | undefined;
}

export interface PoolDiagnostics {
  workers: WorkerDiagnostics[];
  /** Live worker threads or processes against the configured maximum: more live than configured is a leak. */
  live: number;
  configured: number;
  /** The pool's own process, from /proc on Linux (its `threads` counts every thread, V8's and libuv's included). */
  process: ProcStatus | undefined;
}

/** One worker's entry in `pool.diagnostics()`: the worker's answer where it gave one, the parent's readings over it. */
export function workerDiagnostics(
  r: DiagnoseResult,
  book: { workerId: number; kind: 'thread' | 'process' | 'async'; inflight: number; completed: number },
): WorkerDiagnostics {
  const self = r.self;
  const parent = r.parent ?? {};
  return {
    reported: self !== undefined,
    // The parent's reading wins where it is the truer one: a thread's ELU from
    // outside counts time the thread spent blocked answering nothing.
    eventLoopUtilization: parent.eventLoopUtilization ?? self?.eventLoopUtilization,
    heapUsed: self?.heapUsed ?? parent.heapUsed,
    heapTotal: self?.heapTotal,
    external: self?.external,
    rss: self?.rss ?? parent.rss,
    cpuUserMs: self?.cpuUserMs ?? parent.cpuUserMs,
    cpuSystemMs: self?.cpuSystemMs ?? parent.cpuSystemMs,
    workerId: book.workerId,
    kind: book.kind,
    pid: r.pid,
    inflight: book.inflight,
    completed: book.completed,
    proc: r.proc,
  };
}

/**
 * A process's CPU times from /proc/<pid>/stat (utime and stime, fields 14
 * and 15, in clock ticks of USER_HZ = 100 on Linux); undefined elsewhere.
 */
export function procCpu(pid: number, root = '/proc'): { userMs: number; systemMs: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${root}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { userMs: utime * 10, systemMs: stime * 10 };
}

/** Runs inside a worker. */
export function selfReport(isProcess: boolean, elu: () => { utilization: number }): WorkerSelfReport {
  const m = process.memoryUsage();
  const cpu = isProcess ? process.cpuUsage() : undefined;
  return {
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    rss: m.rss,
    external: m.external,
    eventLoopUtilization: elu().utilization,
    cpuUserMs: cpu === undefined ? undefined : cpu.user / 1000,
    cpuSystemMs: cpu === undefined ? undefined : cpu.system / 1000,
  };
}

/** Reads /proc/<pid>/status and /proc/<pid>/fd; every field undefined where /proc is absent. */
export function procStatus(pid: number | 'self', root = '/proc'): ProcStatus | undefined {
  let status: string;
  try {
    status = readFileSync(`${root}/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
    return m === null ? undefined : Number(m[1]);
  };
  let openFds: number | undefined;
  try {
    openFds = readdirSync(`${root}/${pid}/fd`).length;
  } catch {
    openFds = undefined;
  }
  const rssKb = field('VmRSS');
  return {
    rss: rssKb === undefined ? undefined : rssKb * 1024,
    threads: field('Threads'),
    voluntaryContextSwitches: field('voluntary_ctxt_switches'),
    involuntaryContextSwitches: field('nonvoluntary_ctxt_switches'),
    openFds,
  };
}

/**
 * Diagnostics requests in flight to one worker. Each settles exactly once:
 * with the worker's reply, or with `undefined` when the worker does not
 * answer within `timeoutMs` (it may be stuck in a synchronous task) or exits.
 */
export class DiagRequests {
  #next = 1;
  readonly #pending = new Map<number, { resolve: (r: WorkerSelfReport | undefined) => void; timer: NodeJS.Timeout }>();

  request(send: (id: number) => void, timeoutMs = 1000): Promise<WorkerSelfReport | undefined> {
    const id = this.#next++;
    return new Promise((resolve) => {
      // Not unref'd: the caller awaits this answer, so it must keep the process alive until it comes.
      const timer = setTimeout(() => this.#settle(id, undefined), timeoutMs);
      this.#pending.set(id, { resolve, timer });
      try {
        send(id);
      } catch {
        this.#settle(id, undefined);
      }
    });
  }

  reply(id: number, report: WorkerSelfReport): void {
    this.#settle(id, report);
  }

  /** The worker is gone: nothing more will answer. */
  cancelAll(): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, undefined);
  }

  #settle(id: number, report: WorkerSelfReport | undefined): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(report);
  }
}
