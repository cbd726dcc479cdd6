// tinypool task module: named exports, chosen per run with { name }.
import Tinypool from 'tinypool';
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

export function echoBuf(buf) {
  return Tinypool.move(buf);
}

export default inc;
