/** Entry point of a thread worker. */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit } from '../wire/protocol.js';
import { startRuntime } from './runtime.js';

const port = parentPort;
if (port === null) throw new Error('sluice thread-entry must run inside a worker thread');

startRuntime(
  {
    post: (message, transfer) => port.postMessage(message, transfer),
    onMessage: (listener) => port.on('message', listener),
  },
  workerData as WorkerInit,
);
