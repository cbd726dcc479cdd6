/**
 * The worker side: consume a BullMQ queue into a local sluice pool.
 *
 * BullMQ's consumer concurrency is the pool's capacity (its maximum size), so
 * a machine never holds more jobs than it can run: the rest wait in Redis for
 * whichever machine has room. Tasks run on the pool's threads or processes,
 * so the main thread stays free for BullMQ's lock renewal.
 */

import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { Queue, UnrecoverableError, WaitingError, Worker, type Job, type JobProgress, type KeepJobs } from 'bullmq';
import { createPool, type Pool } from '../pool.js';
import type { AnyPoolOptions } from '../api/options.js';
import { InvalidOptionError, UnknownTaskError } from '../api/errors.js';
import { ASYNC_DEFAULT_SIZE } from '../config/validate.js';
import { availableCpus } from '../sizing/cpu-count.js';
import { systemClock } from '../time/clock.js';
import { NO_RETRY, resolveRetry, retryDelay, shouldRetry } from '../supervision/retry.js';
import type { TaskModule, UntypedModule } from '../api/types.js';
import { checkQueueName, toConnectionOptions, type Connection } from './connection.js';
import { encodeWireError } from './errors.js';
import { announce, type Presence } from './presence.js';
import { ProgressWriter } from './progress-writer.js';
import { SLUICE_BACKOFF, assertJsonSafe, deadLetterQueueName, fromBullPriority, isEnvelope, wireRetryToOptions, type BullDeadLetter, type JobData, type TraceContext } from './mapping.js';

export interface ServeOptions<M extends TaskModule = UntypedModule> {
  connection: Connection;
  queue: string;
  /** The local pool (any kind). Its `queue`, `retry` and `deadLetter` are set by serve(): retries and dead letters live in Redis. */
  pool: AnyPoolOptions<M>;
  /** BullMQ key prefix. @default 'bull' */
  prefix?: string;
  /** BullMQ job lock duration: a job whose worker stops renewing its lock this long is taken back. @default 30_000 */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (of any worker). @default 30_000 */
  stalledIntervalMs?: number;
  /** Times a job may stall (its worker died) before it fails. @default 1 */
  maxStalledCount?: number;
  /** Completed jobs kept in Redis. @default { age: 3600, count: 10_000 } */
  removeOnComplete?: KeepJobs;
  /** Failed jobs kept in BullMQ's failed set. @default { age: 7 days } */
  removeOnFail?: KeepJobs;
  /** Record final failures in `<queue>-dlq`. @default true */
  deadLetter?: boolean;
  /** Decides whether a failure is retried (as sluice's `retry.retryOn`); BullMQ still counts the attempts. */
  retryOn?: (error: unknown, attempt: number) => boolean;
  /** Worker name stored on the jobs it processes (`processedBy`) and on its Redis connections. @default `<hostname>:<pid>` */
  name?: string;
}

/** What each job looks like to listeners. */
export interface JobInfo {
  id: string;
  name: string;
  correlationId: string;
  priority: number;
  attempt: number;
  trace: TraceContext | undefined;
  /** A plain BullMQ job (`queue.add(name, data)`), not one from createClient. */
  plain: boolean;
}

export interface ServerStats {
  /** BullMQ concurrency = the pool's capacity. */
  concurrency: number;
  inFlight: number;
  /** The most jobs ever held at once by this server. */
  maxInFlight: number;
  started: number;
  completed: number;
  failed: number;
  deadLettered: number;
}

/**
 * Events: `'active'` (JobInfo) when a job starts, `'completed'` (JobInfo),
 * `'failed'` (JobInfo, error, final: boolean), `'error'` (Error, e.g. Redis
 * connection trouble, BullMQ reconnects by itself; or a progress write that
 * failed, which never fails its job).
 */
export class Server extends EventEmitter {
  readonly queueName: string;
  readonly concurrency: number;
  readonly pool: Pool;
  readonly worker: Worker;
  readonly #dlq: Queue | undefined;
  readonly #retryOn: ServeOptions['retryOn'];
  readonly #active = new Map<string, { job: Job; token: string | undefined }>();
  #hard = false;
  #closing: Promise<void> | undefined;
  #presence: Presence | undefined;
  #stats = { inFlight: 0, maxInFlight: 0, started: 0, completed: 0, failed: 0, deadLettered: 0 };

  /** Use `serve()`. */
  constructor(options: ServeOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
    this.queueName = checkQueueName(options.queue);
    const connection = toConnectionOptions(options.connection);
    if (typeof options.pool !== 'object' || options.pool === null) throw new InvalidOptionError('pool', 'pool options { kind, module, size, ... }', options.pool);
    this.concurrency = capacityOf(options.pool);
    this.#retryOn = options.retryOn;
    const poolOptions = { ...options.pool, queue: { capacity: this.concurrency, overflow: 'reject' }, retry: undefined, deadLetter: false } as AnyPoolOptions<UntypedModule>;
    this.pool = createPool<UntypedModule>(poolOptions as never);
    const prefix = options.prefix !== undefined ? { prefix: options.prefix } : {};
    // BullMQ's worker name, and the name this server announces itself under.
    const name = options.name ?? `${hostname()}:${process.pid}`;
    if (options.deadLetter !== false) {
      this.#dlq = new Queue(deadLetterQueueName(this.queueName), { connection, ...prefix });
      this.#dlq.on('error', (err) => this.#error(err));
    }
    this.worker = new Worker(this.queueName, (job: Job, token?: string, signal?: AbortSignal) => this.#process(job, token, signal), {
      connection,
      ...prefix,
      concurrency: this.concurrency,
      autorun: false,
      name,
      ...(options.lockDurationMs !== undefined ? { lockDuration: options.lockDurationMs } : {}),
      ...(options.stalledIntervalMs !== undefined ? { stalledInterval: options.stalledIntervalMs } : {}),
      ...(options.maxStalledCount !== undefined ? { maxStalledCount: options.maxStalledCount } : {}),
      removeOnComplete: options.removeOnComplete ?? { age: 3600, count: 10_000 },
      removeOnFail: options.removeOnFail ?? { age: 7 * 24 * 3600 },
      settings: {
        // sluice's retry policy computes the delay between BullMQ's attempts.
        backoffStrategy: (attemptsMade: number, type?: string, _err?: Error, job?: { data?: unknown }): number => {
          if (type !== SLUICE_BACKOFF) return 0;
          const data = job?.data as Partial<JobData> | undefined;
          return retryDelay(resolveRetry('retry', wireRetryToOptions(data?.retry)), attemptsMade);
        },
      },
    });
    this.worker.on('error', (err) => this.#error(err));
  }

  /** Loads the module (thread and process kinds), connects, and starts fetching. */
  async start(): Promise<void> {
    await this.pool.start();
    // run() resolves only when the worker stops: it is not awaited here.
    this.worker.run().catch((err: unknown) => this.#error(err instanceof Error ? err : new Error(String(err))));
    await this.worker.waitUntilReady();
    // The constructor always names the worker.
    this.#presence = announce(this.worker, this.worker.opts.name as string);
  }

  stats(): ServerStats {
    return { concurrency: this.concurrency, ...this.#stats };
  }

  /**
   * Stops fetching, lets the jobs in hand finish within `timeoutMs`, then
   * closes. Past the grace, running tasks are aborted and their jobs put back
   * in the queue for another server, and the pool is terminated.
   * Idempotent: every call returns the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs ?? 30_000);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(timeoutMs: number): Promise<void> {
    if (!(timeoutMs >= 0)) throw new InvalidOptionError('timeoutMs', 'a non-negative number of milliseconds', timeoutMs);
    const presence = this.#presence?.stop();
    const graceful = this.worker.close();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), timeoutMs)));
    const first = await Promise.race([graceful.then(() => 'drained' as const), expired]);
    clearTimeout(timer);
    if (first === 'expired') {
      this.#hard = true;
      this.worker.cancelAllJobs('sluice server closing');
      await this.pool.terminate();
      await graceful;
    } else {
      await this.pool.close({ timeoutMs: 0 });
    }
    await presence;
    await this.#dlq?.close();
  }

  #error(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /**
   * Runs one job. Two shapes arrive: sluice's envelope (createClient: input,
   * correlation id, timeout, retry policy, the errors of earlier attempts,
   * output returned as `{ out }`) and plain BullMQ jobs (`queue.add(name,
   * data)`: the data is the input, the output is the return value as it
   * stands, a throw's message is the failedReason, BullMQ's own attempts and
   * backoff decide the retries).
   */
  async #process(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    const envelope = isEnvelope(job.data) ? job.data : undefined;
    const info: JobInfo = {
      id: job.id ?? '',
      name: job.name,
      correlationId: envelope?.correlationId ?? '',
      priority: fromBullPriority(job.opts.priority),
      attempt: job.attemptsMade + 1,
      trace: envelope?.trace,
      plain: envelope === undefined,
    };
    const s = this.#stats;
    s.started++;
    s.inFlight++;
    if (s.inFlight > s.maxInFlight) s.maxInFlight = s.inFlight;
    this.#active.set(info.id, { job, token });
    this.emit('active', info);
    // ctx.progress() in the task becomes job.updateProgress(), throttled; the last value is stored before the outcome.
    const progress = new ProgressWriter(
      (value) => job.updateProgress(value as JobProgress),
      (err) => this.#error(new Error(`progress of job ${info.id} (task "${job.name}") was not stored: ${err instanceof Error ? err.message : String(err)}`, { cause: err })),
      systemClock,
    );
    try {
      const input: unknown = envelope === undefined ? job.data : envelope.input;
      const out: unknown = await this.pool
        .run(job.name, input, {
          onProgress: (value) => progress.report(value),
        ...(signal !== undefined ? { signal } : {}),
        ...(envelope?.timeoutMs !== undefined ? { timeoutMs: envelope.timeoutMs } : {}),
        correlationId: info.correlationId || String(job.id),
        ...(typeof envelope?.trace?.traceparent === 'string' ? { traceContext: { traceparent: envelope.trace.traceparent, ...(envelope.trace.tracestate !== undefined ? { tracestate: envelope.trace.tracestate } : {}) } } : {}),
        })
        .finally(() => progress.finish());
      assertJsonSafe(job.name, 'output', out);
      s.completed++;
      this.emit('completed', info);
      return envelope === undefined ? out : { out };
    } catch (err) {
      if (this.#hard) {
        // Closing hard: the job goes back to the queue at once, untouched, for another server.
        if (token !== undefined) await job.moveToWait(token).catch(() => undefined);
        throw new WaitingError();
      }
      throw await this.#failed(job, info, envelope, err);
    } finally {
      s.inFlight--;
      this.#active.delete(info.id);
    }
  }

  /** Records the failure on the job (and in the DLQ when final); returns what to throw to BullMQ. */
  async #failed(job: Job, info: JobInfo, envelope: JobData | undefined, err: unknown): Promise<Error> {
    const error = err instanceof Error ? err : new Error(String(err));
    const retryable = shouldRetry({ ...NO_RETRY, attempts: Number.POSITIVE_INFINITY, retryOn: this.#retryOn }, error, info.attempt);
    const maxAttempts = job.opts.attempts ?? 1;
    const final = !retryable || info.attempt >= maxAttempts;
    const errors = [...(Array.isArray(envelope?.errors) ? envelope.errors : []), encodeWireError(error)];
    this.#stats.failed++;
    // A plain job's data is the user's: it is left as it was. The envelope carries each attempt's error, so the client rebuilds its class.
    if (envelope !== undefined) await job.updateData({ ...envelope, errors });
    // A job no task answers to never ran: it is a routing mistake, not a failure to redrive from the dead-letter queue.
    const ran = !(error instanceof UnknownTaskError);
    if (final && ran && this.#dlq !== undefined) {
      const entry: BullDeadLetter = {
        queue: this.queueName,
        jobId: info.id,
        taskName: job.name,
        input: envelope === undefined ? job.data : envelope.input,
        correlationId: info.correlationId,
        reason: 'failed',
        error: errors[errors.length - 1]!,
        errors,
        attempts: info.attempt,
        submittedAt: job.timestamp,
        finishedAt: Date.now(),
        priority: job.opts.priority ?? (envelope === undefined ? 0 : 101),
        maxAttempts,
        ...(envelope?.retry ? { retry: envelope.retry } : {}),
        ...(envelope?.timeoutMs !== undefined ? { timeoutMs: envelope.timeoutMs } : {}),
        ...(envelope?.trace ? { trace: envelope.trace } : {}),
        ...(envelope === undefined ? { plain: true as const, ...(job.opts.backoff !== undefined ? { backoff: job.opts.backoff } : {}) } : {}),
      };
      // The failed job's id as the DLQ job id: recorded twice (a crash before BullMQ took the failure), stored once.
      await this.#dlq.add(job.name, entry, { jobId: info.id.startsWith('idem-') ? info.id : `f-${info.id}`, removeOnComplete: true });
      this.#stats.deadLettered++;
    }
    this.emit('failed', info, error, final);
    // BullMQ stores the thrown error's message as the job's failedReason: a plain job's is the task error's own message.
    if (!retryable) return new UnrecoverableError(envelope === undefined ? error.message : `${error.name}: ${error.message}`);
    return error;
  }
}

/**
 * Serves `queue` with a local pool; resolves once the module is loaded and
 * the worker connected. Several servers, on one machine or many, share a queue.
 */
export async function serve<M extends TaskModule = UntypedModule>(options: ServeOptions<M>): Promise<Server> {
  const server = new Server(options as unknown as ServeOptions);
  try {
    await server.start();
  } catch (err) {
    await server.close({ timeoutMs: 0 }).catch(() => undefined);
    throw err;
  }
  return server;
}

/** The pool's maximum size, defaulted as the pool defaults it (config/validate.ts): a container's CPU quota, not the host's cores. */
function capacityOf(pool: AnyPoolOptions<UntypedModule>): number {
  const size = pool.size;
  if (typeof size === 'number') return size;
  if (size !== undefined && typeof size === 'object' && size.max !== undefined) return size.max;
  return pool.kind === 'async' ? ASYNC_DEFAULT_SIZE : availableCpus();
}
