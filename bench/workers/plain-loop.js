// The plainest single-threaded code a user could write instead of
// `sluice run`: read lines, JSON.parse, compute, JSON.stringify, write
// (with the write stream's backpressure). Same output records as sluice.
//   node plain-loop.js <input> <output>
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { double } from './cli-tasks.js';

const [input, output] = process.argv.slice(2);
const out = createWriteStream(output);
let line = 0;
for await (const text of createInterface({ input: createReadStream(input), crlfDelay: Infinity })) {
  line++;
  if (text.trim() === '') continue;
  const record = JSON.parse(text);
  const result = double(record);
  if (!out.write(JSON.stringify({ line, id: record.id, ok: true, result }) + '\n')) await once(out, 'drain');
}
out.end();
await once(out, 'finish');
