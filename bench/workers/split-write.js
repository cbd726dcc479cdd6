// The ceiling for `sluice run`'s main thread: read the input in chunks, find
// the newlines, write the bytes out. No parsing, no task: the rate at which
// one thread can only split and write.
//   node split-write.js <input> <output>
import { Buffer } from 'node:buffer';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createReadStream } from 'node:fs';

const [input, output] = process.argv.slice(2);
const fd = openSync(output, 'w');
let lines = 0;
let carry = Buffer.alloc(0);
for await (const chunk of createReadStream(input, { highWaterMark: 64 * 1024 })) {
  const buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
  let at = -1;
  let last = -1;
  while ((at = buf.indexOf(10, at + 1)) !== -1) {
    lines++;
    last = at;
  }
  writeSync(fd, buf.subarray(0, last + 1));
  carry = buf.subarray(last + 1);
}
if (carry.length > 0) writeSync(fd, carry);
closeSync(fd);
if (lines === 0) throw new Error('no lines');
