// What runs in each scenario: an entry is a library plus the configuration it
// is measured in. Peers run in their best configuration for the scenario
// (see docs/performance.md, "Fairness"); the alternatives stay selectable.

export const SLUICE = { id: 'sluice', lib: 'sluice', config: {} };

export const entries = {
  sluice: SLUICE,
  'sluice pipeline=1': { id: 'sluice pipeline=1', lib: 'sluice', config: { pipeline: 1 } },
  'sluice observed': { id: 'sluice observed', lib: 'sluice', config: { observed: true } },
  piscina: { id: 'piscina', lib: 'piscina', config: {} },
  'piscina ctpw=16': { id: 'piscina ctpw=16', lib: 'piscina', config: { concurrentTasksPerWorker: 16 } },
  'piscina FixedQueue': { id: 'piscina FixedQueue', lib: 'piscina', config: { fixedQueue: true } },
  'piscina FixedQueue ctpw=16': { id: 'piscina FixedQueue ctpw=16', lib: 'piscina', config: { fixedQueue: true, concurrentTasksPerWorker: 16 } },
  'piscina atomics=disabled': { id: 'piscina atomics=disabled', lib: 'piscina', config: { atomics: 'disabled' } },
  'piscina ctpw=16 atomics=disabled': { id: 'piscina ctpw=16 atomics=disabled', lib: 'piscina', config: { concurrentTasksPerWorker: 16, atomics: 'disabled' } },
  'piscina atomics=async': { id: 'piscina atomics=async', lib: 'piscina', config: { atomics: 'async' } },
  tinypool: { id: 'tinypool', lib: 'tinypool', config: {} },
  'tinypool ctpw=16': { id: 'tinypool ctpw=16', lib: 'tinypool', config: { concurrentTasksPerWorker: 16 } },
  workerpool: { id: 'workerpool', lib: 'workerpool', config: {} },
  poolifier: { id: 'poolifier', lib: 'poolifier', config: {} },
  'poolifier concurrency=16': { id: 'poolifier concurrency=16', lib: 'poolifier', config: { queue: true, concurrency: 16 } },
  'raw-echo': { id: 'raw-echo', lib: 'raw-echo', config: {} },
  'sluice process': { id: 'sluice process', lib: 'sluice', config: { kind: 'process' } },
  'workerpool process': { id: 'workerpool process', lib: 'workerpool', config: { kind: 'process' } },
  'raw-ipc': { id: 'raw-ipc', lib: 'raw-ipc', config: {} },
};

/** The thread pools every thread scenario compares, in default configuration. */
export const THREAD_PEERS = ['sluice', 'piscina', 'tinypool', 'workerpool', 'poolifier'];
