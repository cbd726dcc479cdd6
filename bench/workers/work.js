// The work every pool runs, shared so that all libraries execute identical code.

/** Tiny task: the cost is all in the pool. */
export function inc(x) {
  return x + 1;
}

/** CPU-bound task: fib(30) is ~1.3M calls, about 10 ms. */
export function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
