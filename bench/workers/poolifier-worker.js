// poolifier worker. poolifier has no way to transfer a result back, so echoBuf copies.
import { ThreadWorker } from 'poolifier';
import { inc, fib } from './work.js';

export default new ThreadWorker({
  inc,
  fib,
  echoBuf: (buf) => buf,
});
