// Each optional peer in use through its sluice entry point, at whatever
// version the consumer project installed (the test installs the lowest
// supported ones). Redis for BullMQ: the URL in argv[2], or none to skip it.
// Prints one JSON line for the test to read.
import { createPool } from 'sluice';
import { instrumentPool as withMetrics } from 'sluice/prometheus';
import { instrumentPool as withTracing } from 'sluice/otel';
import { createClient, serve } from 'sluice/bullmq';
import { Queue } from 'bullmq';
import { readFileSync } from 'node:fs';
import * as tasks from './tasks.mjs';

// Read from disk: not every peer exports its package.json.
const versionOf = (p) => JSON.parse(readFileSync(new URL(`./node_modules/${p}/package.json`, import.meta.url), 'utf8')).version;
const versions = Object.fromEntries(['prom-client', '@opentelemetry/api', 'bullmq', 'ioredis'].map((p) => [p, versionOf(p)]));

const pool = createPool({ kind: 'async', tasks });
const metrics = withMetrics(pool);
const tracing = withTracing(pool);
await pool.run('inc', 1);
const text = await metrics.registry.metrics();
metrics.close();
tracing.close();
await pool.close();

let bullmq = 'skipped';
const redis = process.argv[2];
if (redis !== undefined && redis !== 'none') {
  const queue = `sluice-package-peers-${process.pid}`;
  const server = await serve({ connection: redis, queue, pool: { kind: 'thread', module: new URL('./tasks.mjs', import.meta.url), size: 1 } });
  const client = createClient({ connection: redis, queue });
  try {
    bullmq = await client.run('inc', 41);
  } finally {
    await client.close();
    await server.close();
    const u = new URL(redis);
    const q = new Queue(queue, { connection: { host: u.hostname, port: Number(u.port || 6379) } });
    await q.obliterate({ force: true });
    await q.close();
  }
}
console.log(JSON.stringify({ versions, prometheus: /sluice_tasks_/.test(text), bullmq }));
