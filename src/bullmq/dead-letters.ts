/**
 * The dead-letter queue `<queue>-dlq`: a plain BullMQ queue nobody consumes
 * by default, holding one job per finally failed job (job id = the failed
 * job's id, so a failure recorded twice is stored once). The failed job also
 * stays in BullMQ's failed set of the main queue, as BullMQ keeps it.
 */

import { Job, Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { SLUICE_BACKOFF, deadLetterQueueName, type BullDeadLetter, type JobData } from './mapping.js';

export interface RedriveResult {
  redriven: number;
  entries: BullDeadLetter[];
}

function openDlq(main: Queue, connection: ConnectionOptions, prefix: string | undefined): Queue {
  const q = new Queue(deadLetterQueueName(main.name), { connection, ...(prefix !== undefined ? { prefix } : {}) });
  q.on('error', () => undefined);
  return q;
}

export async function listDeadLetters(main: Queue, connection: ConnectionOptions, prefix: string | undefined): Promise<Array<BullDeadLetter & { dlqJobId: string }>> {
  const dlq = openDlq(main, connection, prefix);
  try {
    const jobs = await dlq.getJobs(['wait', 'prioritized', 'delayed'], 0, -1, true);
    return jobs.filter((j): j is Job => j !== undefined).map((j) => ({ ...(j.data as BullDeadLetter), dlqJobId: j.id ?? '' }));
  } finally {
    await dlq.close();
  }
}

export async function redriveDeadLetters(main: Queue, connection: ConnectionOptions, prefix: string | undefined, filter: (e: BullDeadLetter) => boolean): Promise<RedriveResult> {
  const dlq = openDlq(main, connection, prefix);
  try {
    const jobs = (await dlq.getJobs(['wait', 'prioritized', 'delayed'], 0, -1, true)).filter((j): j is Job => j !== undefined);
    const entries: BullDeadLetter[] = [];
    for (const j of jobs) {
      const e = j.data as BullDeadLetter;
      if (!filter(e)) continue;
      // The failed original holds the job id; it leaves the failed set so the id can be reused.
      const original = await Job.fromId(main, e.jobId);
      if (original !== undefined) {
        const state = await original.getState();
        if (state !== 'failed') continue; // already back in play
        await original.remove();
      }
      const added = await main.add(e.taskName, ...resubmission(e));
      await j.remove();
      entries.push({ ...e, jobId: added.id ?? e.jobId });
    }
    return { redriven: entries.length, entries };
  } finally {
    await dlq.close();
  }
}

/** The data and options that submit a dead letter again: a plain job as a plain job (its data, its own backoff), an envelope as an envelope. */
function resubmission(e: BullDeadLetter): [unknown, JobsOptions] {
  // Generated ids are integers, which BullMQ refuses as custom ids: only idempotency ids are kept.
  const keepId = e.jobId.startsWith('idem-') ? { jobId: e.jobId } : {};
  if (e.plain === true) {
    return [e.input, { ...keepId, ...(e.priority > 0 ? { priority: e.priority } : {}), ...(e.maxAttempts > 1 ? { attempts: e.maxAttempts } : {}), ...(e.backoff !== undefined ? { backoff: e.backoff } : {}) }];
  }
  const data: JobData = { v: 1, input: e.input, correlationId: e.correlationId, ...(e.retry ? { retry: e.retry } : {}), ...(e.timeoutMs !== undefined ? { timeoutMs: e.timeoutMs } : {}), ...(e.trace ? { trace: e.trace } : {}) };
  return [data, { ...keepId, priority: e.priority, ...(e.maxAttempts > 1 ? { attempts: e.maxAttempts, backoff: { type: SLUICE_BACKOFF } } : {}) }];
}
