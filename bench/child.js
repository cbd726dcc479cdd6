// Runs one measurement in a fresh process and prints its result as one JSON
// line on stdout: { ok: true, metrics } or { skipped: reason }.
// Usage: node bench/child.js '{"scenario":"tiny","entry":"sluice","threads":2,"quick":false}'

import { Skip } from './lib/pools.js';

const spec = JSON.parse(process.argv[2] ?? '{}');
const { default: scenario } = await import(`./scenarios/${spec.scenario}.js`);
try {
  const metrics = await scenario.measure(spec.entry, spec);
  process.stdout.write(`${JSON.stringify({ ok: true, metrics })}\n`);
  process.exit(0);
} catch (err) {
  if (err instanceof Skip) {
    process.stdout.write(`${JSON.stringify({ skipped: err.message })}\n`);
    process.exit(0);
  }
  console.error(err);
  process.exit(1);
}
