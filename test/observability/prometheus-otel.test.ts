import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { createPool } from '../../src/index.js';
import { instrumentPool as tracePool, contextFromCarrier, toTraceparent } from '../../src/observability/otel.js';
import { instrumentPool } from '../../src/observability/prometheus.js';
import { Gate, taskPool } from '../helpers/index.js';

async function serve(registry: Registry): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      },
      (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics` };
}

/** Sum of a metric's samples whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const lab = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => lab.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('a scrape of the Prometheus endpoint matches stats()', async () => {
  const gate = new Gate();
  const pool = taskPool({ size: 2, pipeline: 1, name: 'scraped' });
  const metrics = instrumentPool(pool);
  const { server, url } = await serve(metrics.registry);
  try {
    await Promise.all(Array.from({ length: 30 }, (_, i) => pool.run('inc', i)));
    await Promise.all(Array.from({ length: 3 }, () => assert.rejects(pool.run('fail', 'error'))));
    await assert.rejects(pool.run('exit', 2));
    await assert.rejects(pool.run('nope' as 'inc', 1));
    const held = [pool.run('gate', { flag: gate.flag, value: 1 }), pool.run('gate', { flag: gate.flag, value: 2 }), pool.run('inc', 0), pool.run('inc', 0)];
    await gate.waitStarted(2);
    const text = await (await fetch(url)).text();
    const s = pool.stats();
    assert.equal(sample(text, 'sluice_tasks_total', { pool: 'scraped', outcome: 'completed' }), s.completed);
    assert.equal(sample(text, 'sluice_tasks_total', { pool: 'scraped', outcome: 'failed' }), s.failed);
    assert.equal(sample(text, 'sluice_tasks_total', { pool: 'scraped', outcome: 'rejected' }), s.rejected);
    assert.equal(sample(text, 'sluice_queue_depth', { pool: 'scraped' }), s.queued + s.waiting);
    assert.equal(sample(text, 'sluice_queue_depth', { pool: 'scraped' }), 2);
    assert.equal(sample(text, 'sluice_workers', { pool: 'scraped', state: 'busy' }), s.workers.busy);
    assert.equal(sample(text, 'sluice_tasks_running', { pool: 'scraped' }), 2);
    assert.equal(sample(text, 'sluice_worker_restarts_total', { pool: 'scraped', reason: 'crash' }), 1);
    assert.equal(sample(text, 'sluice_task_run_seconds_count', { pool: 'scraped', task: 'inc' }), 30);
    assert.ok(sample(text, 'sluice_task_wait_seconds_count', { pool: 'scraped' }) >= 34);
    assert.match(text, /# TYPE sluice_task_run_seconds histogram/);
    assert.doesNotMatch(text, /taskId|correlation/i, 'ids never become labels');
    gate.release();
    await Promise.all(held);
  } finally {
    gate.release();
    metrics.close();
    server.close();
    await pool.close();
  }
});

test('traceparent round-trips and a malformed one yields the root context', () => {
  const sc = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 };
  const tp = toTraceparent(sc);
  assert.equal(tp, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
  assert.equal(trace.getSpanContext(contextFromCarrier({ traceparent: tp }))?.spanId, sc.spanId);
  assert.equal(trace.getSpanContext(contextFromCarrier({ traceparent: 'garbage' })), undefined);
});

for (const kind of ['thread', 'process'] as const) {
  test(`a span started in a task has the submit span's trace id (${kind} workers)`, async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    trace.setGlobalTracerProvider(provider);
    const pool = createPool<typeof import('../fixtures/traced-tasks.js')>({
      kind,
      module: new URL('../fixtures/traced-tasks.js', import.meta.url),
      workerSetup: new URL('../fixtures/otel-setup.js', import.meta.url),
      size: 1,
    });
    const tracing = tracePool(pool);
    try {
      const tracer = trace.getTracer('test');
      const { out, requestTraceId } = await tracer.startActiveSpan('request', async (request) => {
        const result = await pool.run('spanInTask', null, { correlationId: 'traced-1' });
        request.end();
        return { out: result, requestTraceId: request.spanContext().traceId };
      });
      const producer = exporter.getFinishedSpans().find((s) => s.name === 'send sluice');
      assert.ok(producer, 'a producer span was recorded');
      assert.equal(producer.spanContext().traceId, requestTraceId, "the producer span is a child of the caller's span");
      assert.equal(producer.attributes['messaging.system'], 'sluice');
      assert.equal(producer.attributes['messaging.message.conversation_id'], 'traced-1');
      assert.equal(out.traceparent, toTraceparent(producer.spanContext()));
      assert.equal(out.traceId, producer.spanContext().traceId, 'the consumer span in the worker joins the trace');
      assert.equal(out.parentSpanId, producer.spanContext().spanId, 'and is a child of the producer span');
      assert.equal(out.innerTraceId, producer.spanContext().traceId, "a span the task creates nests under it");
    } finally {
      tracing.close();
      await pool.close();
      trace.disable();
      context.disable();
    }
  });
}
