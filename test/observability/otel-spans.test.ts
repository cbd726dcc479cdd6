/**
 * The spans sluice/otel records, read back with the real SDK
 * (@opentelemetry/sdk-trace-base, in-memory exporters) on both sides of the
 * worker boundary: names and attributes as docs/observability.md lists
 * them, and `tracestate` crossing with `traceparent` into the consumer span.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createPool } from '../../src/index.js';
import { contextFromCarrier, instrumentPool } from '../../src/observability/otel.js';
import type { SpanSummary } from '../fixtures/traced-tasks.js';

test('contextFromCarrier keeps tracestate with its traceparent', () => {
  const tp = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
  const sc = trace.getSpanContext(contextFromCarrier({ traceparent: tp, tracestate: 'vendor=abc,other=1' }));
  assert.equal(sc?.traceState?.serialize(), 'vendor=abc,other=1');
  assert.equal(sc?.isRemote, true);
  assert.equal(trace.getSpanContext(contextFromCarrier({ traceparent: tp }))?.traceState, undefined);
});

for (const kind of ['thread', 'process'] as const) {
  test(`producer and consumer spans carry the documented names, attributes and tracestate (${kind} workers)`, async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    const pool = createPool<typeof import('../fixtures/traced-tasks.js')>({
      kind,
      name: 'traced',
      module: new URL('../fixtures/traced-tasks.js', import.meta.url),
      workerSetup: new URL('../fixtures/otel-setup.js', import.meta.url),
      size: 1,
    });
    const tracing = instrumentPool(pool);
    try {
      // An incoming request whose upstream set a tracestate: the SDK hands it to child spans.
      const upstream = trace.setSpanContext(ROOT_CONTEXT, { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 1, isRemote: true, traceState: createTraceState('vendor=abc,other=1') });
      await context.with(upstream, () =>
        trace.getTracer('test').startActiveSpan('request', async (request) => {
          await pool.run('spanInTask', null, { correlationId: 'span-1' });
          await pool.run('failsOnce', null, { correlationId: 'retry-1', retry: { attempts: 2, baseMs: 1, jitter: 'none' } });
          request.end();
        }),
      );
      const consumer: SpanSummary[] = await pool.run('finishedSpans', null);
      const producers = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.PRODUCER && s.attributes['sluice.task'] !== 'finishedSpans');
      assert.equal(producers.length, 2);
      for (const p of producers) {
        assert.equal(p.name, 'send traced', '{operation} {destination}');
        assert.equal(p.attributes['messaging.system'], 'sluice');
        assert.equal(p.attributes['messaging.operation.type'], 'send');
        assert.equal(p.attributes['messaging.operation.name'], 'send');
        assert.equal(p.attributes['messaging.destination.name'], 'traced');
        assert.equal(p.spanContext().traceState?.serialize(), 'vendor=abc,other=1');
      }
      const [plain, retried] = producers as [(typeof producers)[0], (typeof producers)[0]];
      assert.equal(plain.attributes['sluice.task'], 'spanInTask');
      assert.equal(plain.attributes['messaging.message.conversation_id'], 'span-1');
      assert.equal(plain.attributes['sluice.attempt'], 1);
      assert.equal(retried.attributes['sluice.attempt'], 2);
      assert.equal(retried.events.filter((e) => e.name === 'retry').length, 1);

      const processed = consumer.filter((s) => s.kind === (SpanKind.CONSUMER as number) && s.attributes['sluice.task'] !== 'finishedSpans');
      assert.equal(processed.length, 3, 'one consumer span per execution: spanInTask, failsOnce twice');
      for (const c of processed) {
        const producer = c.attributes['sluice.task'] === 'spanInTask' ? plain : retried;
        assert.equal(c.name, 'process traced');
        assert.equal(c.traceId, producer.spanContext().traceId);
        assert.equal(c.parentSpanId, producer.spanContext().spanId, 'a child of the producer span');
        assert.equal(c.traceState, 'vendor=abc,other=1', 'tracestate crossed with traceparent');
        assert.equal(c.attributes['messaging.system'], 'sluice');
        assert.equal(c.attributes['messaging.operation.type'], 'process');
        assert.equal(c.attributes['messaging.operation.name'], 'process');
        assert.equal(c.attributes['messaging.destination.name'], 'traced');
        assert.equal(c.attributes['messaging.message.id'], String(producer.attributes['messaging.message.id']));
        assert.equal(c.attributes['messaging.message.conversation_id'], producer.attributes['messaging.message.conversation_id']);
        assert.equal(typeof c.attributes['sluice.worker.id'], 'number');
      }
      const attempts = processed.filter((c) => c.attributes['sluice.task'] === 'failsOnce').map((c) => [c.attributes['sluice.attempt'], c.status]);
      assert.deepEqual(attempts, [
        [1, SpanStatusCode.ERROR],
        [2, SpanStatusCode.OK],
      ]);
      assert.equal(processed.find((c) => c.attributes['sluice.task'] === 'spanInTask')?.attributes['sluice.attempt'], 1);
    } finally {
      tracing.close();
      await pool.close();
      trace.disable();
      context.disable();
    }
  });
}
