// One adapter per library: open(config) -> { run(name, input, transfer), close() }.
// Each library is imported only when its adapter is opened, so a child process
// loads nothing but the library it measures. Every peer gets a fixed-size pool
// of `threads` workers, started eagerly, with an unbounded queue unless the
// scenario says otherwise.

import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';

const workerFile = (name) => new URL(`../workers/${name}`, import.meta.url);

/** A FIFO of resolvers for the raw echoes (which answer in order). */
class Fifo {
  items = [];
  head = 0;
  push(x) {
    this.items.push(x);
  }
  shift() {
    const x = this.items[this.head++];
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

/** Thrown by an adapter when the library lacks the requested mode. */
export class Skip extends Error {}

const adapters = {
  /** variant: { pipeline } (default 'auto'), kind 'thread' | 'process' */
  async sluice({ threads, capacity = Infinity, pipeline, kind = 'thread', observed = false }) {
    const { createPool } = await import('../../dist/index.js');
    if (observed) {
      // Every lifecycle channel subscribed with a no-op listener: the price of
      // events when someone listens (unobserved pools only check hasSubscribers).
      const { subscribe } = await import('node:diagnostics_channel');
      const { CHANNEL_NAMES } = await import('../../dist/index.js');
      for (const name of CHANNEL_NAMES) subscribe(name, () => undefined);
    }
    let pool;
    try {
      pool = createPool({
        kind,
        module: workerFile('sluice-tasks.js'),
        size: threads,
        queue: { capacity },
        ...(pipeline !== undefined ? { pipeline } : {}),
      });
    } catch (err) {
      if (err?.code === 'INVALID_OPTION' || err?.name === 'InvalidOptionError') throw new Skip(`kind '${kind}' not available: ${err.message}`);
      throw err;
    }
    await pool.start();
    return {
      run: (name, input, transfer) => pool.run(name, input, transfer ? { transfer } : undefined),
      close: () => pool.terminate(),
      pool,
    };
  },

  /** variant: { concurrentTasksPerWorker, atomics, fixedQueue } (fixedQueue: piscina's O(1) FixedQueue, advised for large queues) */
  async piscina({ threads, concurrentTasksPerWorker = 1, atomics, fixedQueue = false }) {
    const { Piscina, FixedQueue } = await import('piscina');
    const pool = new Piscina({
      filename: workerFile('piscina-tasks.js').href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      maxQueue: Infinity,
      concurrentTasksPerWorker,
      ...(atomics !== undefined ? { atomics } : {}),
      ...(fixedQueue ? { taskQueue: new FixedQueue() } : {}),
    });
    return {
      run: (name, input, transfer) => pool.run(input, transfer ? { name, transferList: transfer } : { name }),
      close: () => pool.destroy(),
    };
  },

  async tinypool({ threads, concurrentTasksPerWorker = 1 }) {
    const { default: Tinypool } = await import('tinypool');
    const pool = new Tinypool({
      filename: workerFile('tinypool-tasks.js').href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      concurrentTasksPerWorker,
    });
    return {
      run: (name, input, transfer) => pool.run(input, transfer ? { name, transferList: transfer } : { name }),
      close: () => pool.destroy(),
    };
  },

  /** kind: 'thread' | 'process' */
  async workerpool({ threads, kind = 'thread' }) {
    const { default: workerpool } = await import('workerpool');
    const pool = workerpool.pool(workerFile('workerpool-worker.js').pathname, {
      minWorkers: threads,
      maxWorkers: threads,
      workerType: kind,
    });
    return {
      run: (name, input, transfer) => pool.exec(name, [input], transfer ? { transfer } : undefined),
      close: () => pool.terminate(),
    };
  },

  /**
   * Default: no tasks queue (poolifier's default; tasks go straight to the
   * workers' ports). variant { queue: true, concurrency }: per-worker tasks
   * queue feeding `concurrency` tasks at once.
   */
  async poolifier({ threads, concurrency, queue = false }) {
    const { FixedThreadPool } = await import('poolifier');
    const pool = new FixedThreadPool(threads, workerFile('poolifier-worker.js').pathname, {
      enableTasksQueue: queue,
      ...(queue ? { tasksQueueOptions: { concurrency: concurrency ?? 1, size: Number.MAX_SAFE_INTEGER } } : {}),
      errorHandler: (e) => console.error(e),
    });
    return {
      run: (name, input, transfer) => pool.execute(input, name, undefined, transfer),
      close: () => pool.destroy(),
    };
  },

  /** Bare worker_threads: one postMessage per task, round robin, answers in order. */
  'raw-echo'({ threads }) {
    const workers = [];
    for (let i = 0; i < threads; i++) {
      const w = new Worker(workerFile('raw-echo.js'));
      const fifo = new Fifo();
      w.on('message', (m) => fifo.shift()(m));
      workers.push({ w, fifo });
    }
    let next = 0;
    return Promise.resolve({
      run: (name, input, transfer) => {
        const slot = workers[next];
        next = next + 1 === workers.length ? 0 : next + 1;
        return new Promise((resolve) => {
          slot.fifo.push(resolve);
          slot.w.postMessage(name === 'fib' ? ['fib', input] : input, transfer);
        });
      },
      close: () => Promise.all(workers.map(({ w }) => w.terminate())),
    });
  },

  /** Bare child_process IPC: one process.send per task, round robin. */
  'raw-ipc'({ threads }) {
    const children = [];
    for (let i = 0; i < threads; i++) {
      const c = fork(workerFile('raw-child.js'));
      const fifo = new Fifo();
      c.on('message', (m) => fifo.shift()(m));
      children.push({ c, fifo });
    }
    let next = 0;
    return Promise.resolve({
      run: (_name, input) => {
        const slot = children[next];
        next = next + 1 === children.length ? 0 : next + 1;
        return new Promise((resolve) => {
          slot.fifo.push(resolve);
          slot.c.send(input);
        });
      },
      close: () => {
        for (const { c } of children) c.kill();
        return Promise.resolve();
      },
    });
  },
};

/** Opens a pool of library `lib` and warms it: every worker has run a few tasks. */
export async function open(lib, config) {
  const adapter = adapters[lib];
  if (adapter === undefined) throw new Error(`no adapter for ${lib}`);
  const pool = await adapter(config);
  await warm(pool, config.threads);
  return pool;
}

/** Runs enough tiny tasks that every worker is up and the dispatch path is compiled. */
export async function warm(pool, threads) {
  if (pool.pool !== undefined) {
    // sluice: wait until every worker has loaded the module, not only the first.
    while (pool.pool.stats().workers.starting > 0) await new Promise((r) => setTimeout(r, 2));
  }
  const all = [];
  for (let i = 0; i < threads * 64; i++) all.push(pool.run('inc', i));
  await Promise.all(all);
}

export function adapterFor(lib) {
  return adapters[lib];
}
