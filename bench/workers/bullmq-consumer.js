// A plain BullMQ worker with a sandboxed processor (worker threads), as BullMQ
// documents for CPU-bound work. argv: queue, concurrency, redis port.
import { Worker } from 'bullmq';

const [queue, concurrency, port] = process.argv.slice(2);
const worker = new Worker(queue, new URL('./bullmq-processor.js', import.meta.url), {
  connection: { host: '127.0.0.1', port: Number(port) },
  concurrency: Number(concurrency),
  useWorkerThreads: true,
  removeOnComplete: { count: 100 },
});
worker.on('error', () => undefined);
await worker.waitUntilReady();
process.stderr.write('ready\n');
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
