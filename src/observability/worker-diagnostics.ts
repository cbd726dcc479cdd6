/**
 * Per-worker diagnostics: the guide's diagnostic hooks (RSS, thread counts,
 * context switches) as data. The worker reports what only it can see (its
 * heap, its event-loop utilization, its CPU time); for process workers the
 * pool adds what Linux shows in /proc (RSS, context switches, open file
 * descriptors, threads).
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

export interface WorkerDiagnostics extends WorkerSelfReport {
  /** False when the worker did not answer in time (busy in a synchronous task): its own figures are then zeros. */
  reported: boolean;
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
