// The work every pool runs, shared so that all libraries execute identical code.

/** Tiny task: the cost is all in the pool. */
export function inc(x) {
  return x + 1;
}

/** CPU-bound task: fib(30) is ~1.3M calls, about 10 ms. */
export function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/**
 * Busy for `us` microseconds of wall time (0: returns at once), then returns
 * `us`. The duration travels in the input, so one task name can be tiny or
 * long (scenario `changing`).
 */
export function busy(us) {
  if (us > 0) {
    const end = performance.now() + us / 1000;
    while (performance.now() < end) {
      /* busy */
    }
  }
  return us;
}
