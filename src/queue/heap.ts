/**
 * Binary-heap sifting over a plain array, ordered by a comparator:
 * `before(a, b)` is true when `a` must come out before `b`. The priority
 * queue keeps two heaps with it (dispatch order and eviction order).
 *
 * The timer heap (src/time/timer-heap.ts) keeps its own sift code: time/ and
 * queue/ are sibling leaves that do not import each other (eslint.config.js,
 * "Layers"), and its entries record their heap index on every move so a
 * cancel is O(log n); doing that through a callback here would add an
 * indirect call per move on the path of every timed task.
 */

export type Before<T> = (a: T, b: T) => boolean;

/** Adds `e` to heap `h`. */
export function heapPush<T>(h: T[], e: T, before: Before<T>): void {
  let i = h.length;
  h.push(e);
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pe = h[p] as T;
    if (!before(e, pe)) break;
    h[i] = pe;
    i = p;
  }
  h[i] = e;
}

/** Removes and returns the first element of heap `h`, or undefined when it is empty. */
export function heapPop<T>(h: T[], before: Before<T>): T | undefined {
  if (h.length === 0) return undefined;
  const top = h[0] as T;
  const last = h.pop() as T;
  if (h.length === 0) return top;
  let i = 0;
  const n = h.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && before(h[r] as T, h[l] as T) ? r : l;
    const ce = h[c] as T;
    if (!before(ce, last)) break;
    h[i] = ce;
    i = c;
  }
  h[i] = last;
  return top;
}
