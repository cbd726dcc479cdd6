// Writes the example's input, one JSON record per line:
//   node examples/hash-batch/generate.js [lines] [path]
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

export async function generate(lines = 2000, path = fileURLToPath(new URL('./data.jsonl', import.meta.url))) {
  const out = createWriteStream(path);
  for (let i = 1; i <= lines; i++) {
    if (!out.write(`${JSON.stringify({ id: `rec-${i}`, text: `record number ${i} of ${lines}` })}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = await generate(Number(process.argv[2] ?? 2000), process.argv[3]);
  process.stdout.write(`wrote ${path}\n`);
}
