// A plain BullMQ worker, as BullMQ documents it. argv: queue, concurrency,
// redis port, mode: 'sandbox' (a sandboxed processor file on worker threads,
// BullMQ's advice for CPU-bound work) or 'inline' (the function in the
// worker's own thread).
import { Worker } from 'bullmq';
import { fib } from './work.js';

const [queue, concurrency, port, mode = 'sandbox'] = process.argv.slice(2);
const processor = mode === 'inline' ? (job) => Promise.resolve(fib(job.data)) : new URL('./bullmq-processor.js', import.meta.url);
const worker = new Worker(queue, processor, {
  connection: { host: '127.0.0.1', port: Number(port) },
  concurrency: Number(concurrency),
  ...(mode === 'inline' ? {} : { useWorkerThreads: true }),
  removeOnComplete: { count: 100 },
});
worker.on('error', () => undefined);
await worker.waitUntilReady();
process.stderr.write('ready\n');
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
