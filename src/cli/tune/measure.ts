/**
 * One point of the `sluice tune` curve: the task run over the sample on a
 * pool of a fixed size, closed-loop (as many tasks in flight as workers, so
 * latency is the time a task takes at that concurrency, not time queued
 * behind the sample), timed on the real clock.
 */

import { createHistogram } from 'node:perf_hooks';
import type { Pool } from '../../pool.js';
import { openTaskPool } from '../open-pool.js';
import type { TunePoint } from './knee.js';

export interface MeasureConfig {
  moduleUrl: string;
  kind: string;
  task: string;
  inputs: readonly unknown[];
  /** Passes over the inputs. */
  rounds: number;
}

export interface Measured extends TunePoint {
  readonly tasks: number;
  readonly failed: number;
  readonly p50Ms: number;
}

function openPool(c: MeasureConfig, workers: number): Promise<Pool> {
  return openTaskPool({ kind: c.kind, moduleUrl: c.moduleUrl, task: c.task }, { size: workers, queue: { capacity: Math.max(workers * 2, 16) } });
}

export async function measure(c: MeasureConfig, workers: number): Promise<Measured> {
  const pool = await openPool(c, workers);
  try {
    // Every worker started and warm (module loaded, code compiled) before the clock starts.
    while (pool.stats().workers.starting > 0) await new Promise((r) => setTimeout(r, 2));
    const warm = Math.min(c.inputs.length, workers * 2);
    await Promise.allSettled(c.inputs.slice(0, warm).map((input) => pool.run(c.task, input)));

    const total = c.inputs.length * c.rounds;
    const hist = createHistogram();
    let next = 0;
    let failed = 0;
    const t0 = performance.now();
    const lane = async (): Promise<void> => {
      while (next < total) {
        const input = c.inputs[next++ % c.inputs.length];
        const start = performance.now();
        try {
          await pool.run(c.task, input);
        } catch {
          failed++;
        }
        hist.record(Math.max(1, Math.round((performance.now() - start) * 1e6)));
      }
    };
    await Promise.all(Array.from({ length: workers }, lane));
    const seconds = (performance.now() - t0) / 1000;
    return {
      workers,
      tasks: total,
      failed,
      throughput: total / seconds,
      p50Ms: hist.percentile(50) / 1e6,
      p99Ms: hist.percentile(99) / 1e6,
    };
  } finally {
    await pool.close();
  }
}
