/** Shared test helpers: fixture location and SharedArrayBuffer handshakes. */
import { createPool, type PoolOptions, type Pool } from '../../src/index.js';
import type * as Tasks from '../fixtures/tasks.js';

export const TASKS = new URL('../fixtures/tasks.js', import.meta.url);

export type TasksModule = typeof Tasks;

export function taskPool(opts: Omit<PoolOptions<TasksModule>, 'module'> = {}): Pool<TasksModule> {
  return createPool<TasksModule>({ module: TASKS, size: 2, ...opts });
}

/**
 * A handshake with `gate` tasks in workers: index 0 counts tasks that
 * started, index 1 releases them all.
 */
export class Gate {
  readonly flag = new SharedArrayBuffer(8);
  readonly #a = new Int32Array(this.flag);

  get started(): number {
    return Atomics.load(this.#a, 0);
  }

  /** Resolves once at least `n` gate tasks are running. No sleeping: Atomics.waitAsync wakes on each start. */
  async waitStarted(n: number): Promise<void> {
    for (;;) {
      const seen = Atomics.load(this.#a, 0);
      if (seen >= n) return;
      const r = Atomics.waitAsync(this.#a, 0, seen, 10_000);
      if (r.async) {
        const v = await r.value;
        if (v === 'timed-out') throw new Error(`only ${Atomics.load(this.#a, 0)} of ${n} gate tasks started within 10 s`);
      }
    }
  }

  release(): void {
    Atomics.store(this.#a, 1, 1);
  }
}

/** Settles a promise into a tagged record, so tests can look at rejections without try/catch. */
export async function outcome<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error & { code?: string } }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error: error as Error & { code?: string } };
  }
}

/** Deterministic pseudo-random numbers in [0, 1), so a randomised test can be replayed from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Waits for a condition that an outside event brings about (a worker
 * starting or exiting, a child process going away): polls, bounded by wall
 * time. A wait for an event, never a proof by sleeping.
 */
export async function eventually(cond: () => boolean, what: string, withinMs = 30_000): Promise<void> {
  const give = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > give) throw new Error(`never happened within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
