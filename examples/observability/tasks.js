// Task module of the observability example: a little CPU work, and a span of its own.
import { createHash } from 'node:crypto';
import { trace } from '@opentelemetry/api';

/** @param {{ id: number }} record */
export function digest(record) {
  return trace.getTracer('example').startActiveSpan('hash record', (span) => {
    let h = JSON.stringify(record);
    for (let i = 0; i < 200; i++) h = createHash('sha256').update(h).digest('hex');
    span.end();
    return { id: record.id, digest: h.slice(0, 16) };
  });
}

/** @param {{ id: number }} record */
export function flaky(record) {
  if (record.id % 10 === 0) throw new Error(`record ${record.id} is cursed`);
  return record.id;
}
