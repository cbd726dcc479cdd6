// workerpool worker (thread and process mode).
import workerpool from 'workerpool';
import { inc, fib } from './work.js';

workerpool.worker({
  inc,
  fib,
  echoBuf: (buf) => new workerpool.Transfer(buf, [buf]),
});
