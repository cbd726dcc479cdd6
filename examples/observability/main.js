// A pool with structured logs (pino), a Prometheus endpoint on 127.0.0.1 and
// OpenTelemetry spans printed to the console, end to end:
//   npm run build && node examples/observability/main.js [--port 9464] [--keep-serving]
// It runs a batch, scrapes its own endpoint once, prints the figures that
// matter and compares them with pool.stats().
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { createPool } from '../../dist/index.js';
import { instrumentPool as tracePool } from '../../dist/observability/otel.js';
import { instrumentPool } from '../../dist/observability/prometheus.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'keep-serving': { type: 'boolean', default: false } } });

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] }));

const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const pool = createPool({
  name: 'example',
  module: new URL('./tasks.js', import.meta.url),
  workerSetup: new URL('./otel-worker.js', import.meta.url),
  size: 2,
  logger,
  deadLetter: { kind: 'memory', capacity: 100 },
});
const metrics = instrumentPool(pool);
const tracing = tracePool(pool);

const server = createServer((req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  metrics.registry.metrics().then(
    (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
    (err) => res.writeHead(500).end(String(err)),
  );
});
await new Promise((resolve) => server.listen(Number(values.port), '127.0.0.1', resolve));
const url = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}/metrics`;

await trace.getTracer('example').startActiveSpan('batch', async (span) => {
  const records = Array.from({ length: 40 }, (_, id) => ({ id }));
  await Promise.all(records.map((r) => pool.run('digest', r, { correlationId: `rec-${r.id}` })));
  await Promise.allSettled(records.map((r) => pool.run('flaky', r, { correlationId: `flaky-${r.id}` })));
  span.end();
});

const text = await (await fetch(url)).text();
const pick = (/** @type {string} */ name) => text.split('\n').filter((l) => l.startsWith(name)).join('\n');
const stats = pool.stats();
console.log(`\nPrometheus endpoint: ${url}`);
console.log(pick('sluice_tasks_total'));
console.log(pick('sluice_queue_depth'));
console.log(`stats(): completed ${stats.completed}, failed ${stats.failed}, dead-lettered ${stats.deadLettered}, run p99 ${stats.latency.run.p99.toFixed(2)} ms`);
const scraped = (/** @type {string} */ outcome) => text.split('\n').filter((l) => l.startsWith('sluice_tasks_total{') && l.includes(`outcome="${outcome}"`)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
const agree = scraped('completed') === stats.completed && scraped('failed') === stats.failed;
console.log(agree ? 'scrape matches stats(): yes' : 'scrape matches stats(): NO');

if (!values['keep-serving']) {
  tracing.close();
  metrics.close();
  server.close();
  await pool.close();
  process.exitCode = agree ? 0 : 1;
}
