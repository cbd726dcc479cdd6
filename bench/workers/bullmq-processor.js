// BullMQ sandboxed processor: the same fib as every other pool runs.
import { fib } from './work.js';

export default async function (job) {
  return fib(job.data.n);
}
