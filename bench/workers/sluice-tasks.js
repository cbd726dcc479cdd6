// sluice task module: each exported function is a task.
import { inc as incFn, fib as fibFn, busy as busyFn } from './work.js';

export function inc(x) {
  return incFn(x);
}

export function fib(n) {
  return fibFn(n);
}

export function busy(us) {
  return busyFn(us);
}

/** Sends the buffer back without copying. */
export function echoBuf(buf, ctx) {
  ctx.transfer(buf);
  return buf;
}
