/**
 * `sluice/otel`: OpenTelemetry tracing across the worker boundary, with
 * @opentelemetry/api (an optional peer dependency; bring your own SDK).
 *
 * - In the process that submits: `instrumentPool(pool)` opens a PRODUCER
 *   span when a task is submitted (a child of whatever span is active in the
 *   caller) and ends it when the task settles. Its context travels with the
 *   task as a W3C `traceparent`.
 * - In each worker: a `workerSetup` module that sets up the SDK and calls
 *   `instrumentWorker()` opens a CONSUMER span around every execution, a
 *   child of the producer span, and makes it active: spans a task creates
 *   nest under it. For `kind: 'async'` call `instrumentWorker()` once in the
 *   pool's own process.
 *
 * Names and attributes follow the OpenTelemetry messaging conventions
 * (semconv 1.26 and later): the span name is `{operation} {destination}`,
 * the destination is the pool (the one queue a task goes through; the task
 * name is its handler, as a job name is in a BullMQ queue), and
 * `messaging.system` = "sluice", `messaging.operation.type` and
 * `messaging.operation.name` ("send" / "process"),
 * `messaging.destination.name`, `messaging.message.id` (task id),
 * `messaging.message.conversation_id` (correlation id), plus `sluice.task`,
 * `sluice.worker.id`, `sluice.attempt`. Full table: docs/observability.md.
 */
import { context, createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import type { TraceCarrier } from './diagnostics.js';
import { subscribePool } from './subscribe.js';
import type { Pool } from '../pool.js';
import { registerTaskHook } from '../runtime/task-hooks.js';
import type { TaskModule } from '../api/types.js';

export interface TracingOptions {
  /** @default trace.getTracer('sluice') */
  tracer?: Tracer;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** W3C traceparent of a span context. */
export function toTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * A context whose remote parent is the carrier's span, `tracestate`
 * included; ROOT when the carrier is absent or malformed. The two headers
 * are read together here rather than through the global propagator: a
 * worker may have none registered, and W3C extraction ignores a
 * `tracestate` without its `traceparent`.
 */
export function contextFromCarrier(carrier: TraceCarrier | undefined): Context {
  if (carrier === undefined) return ROOT_CONTEXT;
  const m = TRACEPARENT.exec(carrier.traceparent);
  if (m === null) return ROOT_CONTEXT;
  const sc: SpanContext = { traceId: m[1] as string, spanId: m[2] as string, traceFlags: parseInt(m[3] as string, 16), isRemote: true };
  if (typeof carrier.tracestate === 'string' && carrier.tracestate !== '') sc.traceState = createTraceState(carrier.tracestate);
  return trace.setSpanContext(ROOT_CONTEXT, sc);
}

export interface PoolTracing {
  /** Stops tracing this pool; spans still open are ended. */
  close(): void;
}

/** Producer spans for every task `pool` accepts, linked into the workers. */
export function instrumentPool(pool: Pool<TaskModule>, options: TracingOptions = {}): PoolTracing {
  const tracer = options.tracer ?? trace.getTracer('sluice');
  const open = new Map<number, { span: Span; carrier: TraceCarrier }>();
  const end = (taskId: number | undefined, fn: (span: Span) => void): void => {
    if (taskId === undefined) return;
    const entry = open.get(taskId);
    if (entry === undefined) return;
    open.delete(taskId);
    fn(entry.span);
    entry.span.end();
  };
  const fail = (span: Span, error: unknown): void => {
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: describeThrown(error) });
  };
  const detach = subscribePool(pool.id, {
    taskQueued: (e) => {
      // Runs synchronously inside run(): the caller's active span is the parent.
      const span = tracer.startSpan(`send ${e.pool}`, {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'sluice',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': e.pool,
          'messaging.message.id': String(e.taskId),
          'messaging.message.conversation_id': e.correlationId,
          'sluice.task': e.task,
          'sluice.priority': e.priority,
        },
      });
      const sc = span.spanContext();
      const state = sc.traceState?.serialize();
      // The worker cannot know the pool's name or the attempt: they ride in
      // the carrier the task already sends (one object, read by the consumer span).
      const carrier: TraceCarrier = { traceparent: toTraceparent(sc), destination: e.pool, attempt: 1 };
      if (state) carrier.tracestate = state;
      open.set(e.taskId, { span, carrier });
      e.traceContext = carrier;
    },
    taskCompleted: (e) => end(e.taskId, (s) => s.setAttributes({ 'sluice.worker.id': e.workerId, 'sluice.attempt': e.attempt, 'sluice.wait_ms': e.waitMs, 'sluice.run_ms': e.runMs }).setStatus({ code: SpanStatusCode.OK })),
    taskFailed: (e) =>
      end(e.taskId, (s) => {
        s.setAttributes({ 'sluice.attempt': e.attempt, 'sluice.failure': e.reason });
        fail(s, e.error);
      }),
    taskRejected: (e) => end(e.taskId, (s) => fail(s, e.error)),
    taskRetried: (e) => {
      const entry = open.get(e.taskId);
      if (entry === undefined) return;
      entry.span.addEvent('retry', { 'sluice.attempt': e.attempt, 'sluice.delay_ms': e.delayMs });
      // The carrier is the object the task carries: the next send says which attempt it is.
      entry.carrier.attempt = e.attempt + 1;
    },
  });
  return {
    close() {
      detach();
      for (const { span } of open.values()) span.end();
      open.clear();
    },
  };
}

/**
 * Consumer spans around every task run in this worker (call it from the
 * pool's `workerSetup` module, after your SDK is set up). Returns a function
 * that removes the hook.
 */
export function instrumentWorker(options: TracingOptions = {}): () => void {
  const tracer = options.tracer ?? trace.getTracer('sluice');
  return registerTaskHook((run, { task, ctx }) => {
    const carrier = ctx.traceContext;
    const parent = contextFromCarrier(carrier);
    const destination = carrier?.destination;
    const attributes: Attributes = {
      'messaging.system': 'sluice',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.message.id': String(ctx.taskId),
      'messaging.message.conversation_id': ctx.correlationId,
      'sluice.task': task,
      'sluice.worker.id': ctx.workerId,
    };
    if (destination !== undefined) attributes['messaging.destination.name'] = destination;
    if (carrier?.attempt !== undefined) attributes['sluice.attempt'] = carrier.attempt;
    // Without a producer (a traceContext passed by hand, or none) the destination is unknown: the name says so.
    const span = tracer.startSpan(destination === undefined ? 'process' : `process ${destination}`, { kind: SpanKind.CONSUMER, attributes }, parent);
    const finish = (error?: unknown): void => {
      if (error === undefined) span.setStatus({ code: SpanStatusCode.OK });
      else {
        if (error instanceof Error) span.recordException(error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: describeThrown(error) });
      }
      span.end();
    };
    return context.with(trace.setSpan(parent, span), () => {
      let out: unknown;
      try {
        out = run();
      } catch (err) {
        finish(err);
        throw err;
      }
      if (out !== null && typeof out === 'object' && typeof (out as PromiseLike<unknown>).then === 'function') {
        return (out as PromiseLike<unknown>).then(
          (v) => {
            finish();
            return v;
          },
          (err: unknown) => {
            finish(err ?? new Error('rejected'));
            throw err;
          },
        );
      }
      finish();
      return out;
    });
  });
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return JSON.stringify(error) ?? typeof error;
  } catch {
    return typeof error;
  }
}
