// BullMQ sandboxed processor: the same fib as every other pool runs (the job's data is n).
import { fib } from './work.js';

export default function (job) {
  return Promise.resolve(fib(job.data));
}
