/**
 * The scaler's CPU signal: process CPU time (`process.cpuUsage()`, which
 * counts every thread of the process, worker threads included) as a fraction
 * of the CPUs the pool sizes for, plus the thread workers' event-loop
 * utilization. Both are measurements of real work, so they read the real
 * clock, not the pool's injectable one.
 */

import type { EventLoopUtilization } from 'node:perf_hooks';
import type { WorkerHandle } from '../worker/handle.js';

/** A worker that can report its event-loop utilization (thread workers). */
export interface CpuReading {
  /** 0..1 of `cpus`; NaN on the first reading. */
  readonly cpu: number;
  /** Mean over the workers that report one; NaN when none does. */
  readonly elu: number;
}

export class CpuSignal {
  readonly #cpus: number;
  #usage: NodeJS.CpuUsage | undefined;
  #at = 0;
  readonly #elu = new WeakMap<WorkerHandle, EventLoopUtilization>();

  constructor(cpus: number) {
    this.#cpus = cpus;
  }

  read(workers: Iterable<WorkerHandle>): CpuReading {
    const at = performance.now();
    const usage = process.cpuUsage();
    let cpu = NaN;
    if (this.#usage !== undefined && at > this.#at) {
      const usedMs = (usage.user - this.#usage.user + usage.system - this.#usage.system) / 1000;
      cpu = Math.min(1, usedMs / ((at - this.#at) * this.#cpus));
    }
    this.#usage = usage;
    this.#at = at;
    let sum = 0;
    let n = 0;
    for (const h of workers) {
      if (h.eventLoopUtilization === undefined) continue;
      const total = h.eventLoopUtilization();
      const prev = this.#elu.get(h);
      this.#elu.set(h, total);
      if (prev === undefined) continue;
      const delta = h.eventLoopUtilization(total, prev);
      sum += delta.utilization;
      n++;
    }
    return { cpu, elu: n === 0 ? NaN : sum / n };
  }
}
