// The ceiling: a bare worker_threads echo, one message per task, no pool logic.
import { parentPort } from 'node:worker_threads';
import { fib } from './work.js';

const port = parentPort;
port.on('message', (m) => {
  if (typeof m === 'number') port.postMessage(m + 1);
  else if (Array.isArray(m)) port.postMessage(fib(Number(m[1])));
  else port.postMessage(m, [m]);
});
