/**
 * The producer side: submit tasks to a BullMQ queue served by `serve()`
 * processes, and get their outputs or errors back.
 */

import { createHash, randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import { InvalidOptionError } from '../api/errors.js';
import type { EncodedError } from '../wire/error-codec.js';
import { checkQueueName, isClient, isConnectionError, toConnectionOptions, type Connection } from './connection.js';
import { JobLostError, RedisUnavailableError, decodeWireError } from './errors.js';
import { redriveDeadLetters, listDeadLetters, type RedriveResult } from './dead-letters.js';
import { SLUICE_BACKOFF, assertJsonSafe, toBullPriority, toWireRetry, type BackoffOption, type BullDeadLetter, type JobData, type TraceContext } from './mapping.js';

export interface ClientOptions {
  /** Redis: BullMQ connection options, an ioredis client, or a redis:// URL. */
  connection: Connection;
  /** The queue name (the dead-letter queue is `<queue>-dlq`). */
  queue: string;
  /** BullMQ key prefix. @default 'bull' */
  prefix?: string;
  /** How long the first submit may wait for Redis before failing with RedisUnavailableError. @default 5000 */
  connectTimeoutMs?: number;
}

export interface SubmitOptions {
  /** -100..100, higher first, FIFO among equals (as in a local pool). @default 0 */
  priority?: number;
  /** Not before this many ms from now. */
  delayMs?: number;
  /** Tries in all, the first included; retried with `backoff` by BullMQ, on any machine. @default 1 */
  attempts?: number;
  /** Delay between tries: sluice's retry policy. @default { type: 'exponential', baseMs: 100, maxMs: 30_000, jitter: 'full' } */
  backoff?: BackoffOption;
  /** Submitting the same key again while the job exists returns the existing job instead of adding one. */
  idempotencyKey?: string;
  /** Running-time limit, enforced by the serving pool (TaskTimeoutError). */
  timeoutMs?: number;
  /** @default generated */
  correlationId?: string;
  /** W3C trace context, carried in the job data to the serving side. */
  trace?: TraceContext;
  /**
   * Called with each progress value the task reports (`ctx.progress(value)`
   * on the serving side, stored as `job.updateProgress(value)` and read back
   * from the queue's events), in order, until the job completes or fails.
   * Throttled on the serving side (see docs/bullmq.md): a tight loop of
   * reports arrives as its latest values, the last one always. A callback
   * that throws is reported as a process warning and never fails the job.
   */
  onProgress?: (value: unknown) => void;
}

export interface JobHandle<T = unknown> {
  readonly id: string;
  readonly queue: string;
  readonly correlationId: string;
  /** Resolves with the task's output, or rejects with its error (same classes and codes as a local pool). */
  result(): Promise<T>;
  /**
   * The latest progress value stored on the job (`ctx.progress` on the
   * server, throttled to one write per 100 ms, the last one always written
   * before the outcome); BullMQ's `0` before any report. `undefined` once the
   * job is gone (removed after completion). Reads Redis: for every value as
   * it comes, pass `onProgress` to `submit`.
   */
  progress(): Promise<unknown>;
}

interface Waiter {
  taskName: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class Client {
  readonly queueName: string;
  readonly #queue: Queue;
  readonly #connection: ReturnType<typeof toConnectionOptions>;
  readonly #prefix: string | undefined;
  readonly #connectTimeoutMs: number;
  #events: QueueEvents | undefined;
  #eventsReady: Promise<void> | undefined;
  #ready: Promise<void> | undefined;
  readonly #waiters = new Map<string, Waiter[]>();
  /** onProgress callbacks by job id, dropped when the job completes or fails. */
  readonly #progress = new Map<string, Array<(value: unknown) => void>>();
  #closed = false;
  #recheck: NodeJS.Timeout | undefined;

  constructor(options: ClientOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
    this.queueName = checkQueueName(options.queue);
    this.#connection = toConnectionOptions(options.connection);
    this.#prefix = options.prefix;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    // Without the offline queue a submit while Redis is away fails at once
    // instead of waiting, unbounded, for a reconnection.
    const connection = isClient(this.#connection) ? this.#connection : { ...this.#connection, enableOfflineQueue: false };
    this.#queue = new Queue(this.queueName, { connection, ...(this.#prefix !== undefined ? { prefix: this.#prefix } : {}) });
    this.#queue.on('error', () => {
      // Connection errors surface on the calls that hit them; an unhandled 'error' event would crash the process.
    });
  }

  /** The underlying BullMQ queue (counts, pause, obliterate...). */
  get queue(): Queue {
    return this.#queue;
  }

  /** Adds a job; resolves once Redis has recorded it. Rejects with SerializationError, InvalidOptionError or RedisUnavailableError. */
  async submit<T = unknown>(name: string, input: unknown, options: SubmitOptions = {}): Promise<JobHandle<T>> {
    if (this.#closed) throw new RedisUnavailableError(this.queueName, 'submit', new Error('client is closed'));
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'a task name', name);
    assertJsonSafe(name, 'input', input);
    const { data, opts } = buildJob(input, options);
    const onProgress = options.onProgress;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new InvalidOptionError('onProgress', 'a function (value) => void', onProgress);
    await this.#whenReady();
    // Listening before the job exists: its first progress cannot come before the listener.
    if (onProgress !== undefined) await this.#startEventsOrFail();
    let job: Job;
    try {
      job = await this.#queue.add(name, data, opts);
    } catch (err) {
      if (isConnectionError(err)) throw new RedisUnavailableError(this.queueName, `submit "${name}"`, err);
      throw err;
    }
    const id = job.id ?? '';
    // Registered in the same turn as add()'s reply: the job's first progress needs a worker to fetch and run it first, later.
    if (onProgress !== undefined) this.#progress.set(id, [...(this.#progress.get(id) ?? []), onProgress]);
    const correlationId = (job.data as Partial<JobData> | undefined)?.correlationId ?? data.correlationId;
    return { id, queue: this.queueName, correlationId, result: () => this.#result(id, name) as Promise<T>, progress: () => this.#storedProgress(id) };
  }

  /** Submits and waits for the outcome. */
  async run<T = unknown>(name: string, input: unknown, options?: SubmitOptions): Promise<T> {
    const handle = await this.submit<T>(name, input, options);
    return handle.result();
  }

  /** A handle for a job submitted earlier (by id). */
  handle<T = unknown>(id: string, taskName = '(unknown)'): JobHandle<T> {
    return { id, queue: this.queueName, correlationId: '', result: () => this.#result(id, taskName) as Promise<T>, progress: () => this.#storedProgress(id) };
  }

  async #storedProgress(id: string): Promise<unknown> {
    try {
      return (await Job.fromId(this.#queue, id))?.progress;
    } catch (err) {
      if (isConnectionError(err)) throw new RedisUnavailableError(this.queueName, `read the progress of job ${id}`, err);
      throw err;
    }
  }

  /** Entries of `<queue>-dlq`. */
  deadLetters(): Promise<Array<BullDeadLetter & { dlqJobId: string }>> {
    return listDeadLetters(this.#queue, this.#dlqConnection(), this.#prefix);
  }

  /** Submits the dead letters `filter` accepts again (same job id, fresh attempts) and removes them from the DLQ. */
  async redrive(filter: (entry: BullDeadLetter) => boolean = () => true): Promise<RedriveResult & { handles: JobHandle[] }> {
    await this.#whenReady();
    const r = await redriveDeadLetters(this.#queue, this.#dlqConnection(), this.#prefix, filter);
    return { ...r, handles: r.entries.map((e) => ({ id: e.jobId, queue: this.queueName, correlationId: e.correlationId, result: () => this.#result(e.jobId, e.taskName), progress: () => this.#storedProgress(e.jobId) })) };
  }

  /** Closes the Redis connections. Pending `result()` promises reject with RedisUnavailableError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#recheck);
    const waiters = [...this.#waiters.values()].flat();
    this.#waiters.clear();
    this.#progress.clear();
    for (const w of waiters) w.reject(new RedisUnavailableError(this.queueName, 'wait for a result', new Error('client closed')));
    await Promise.allSettled([this.#events?.close(), this.#queue.close()]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #dlqConnection(): ReturnType<typeof toConnectionOptions> {
    return this.#connection;
  }

  #whenReady(): Promise<void> {
    this.#ready ??= withTimeout(this.#queue.waitUntilReady(), this.#connectTimeoutMs).catch((err: unknown) => {
      this.#ready = undefined;
      throw new RedisUnavailableError(this.queueName, 'connect', err);
    });
    return this.#ready;
  }

  async #startEventsOrFail(): Promise<void> {
    try {
      await this.#startEvents();
    } catch (err) {
      this.#eventsReady = undefined;
      throw new RedisUnavailableError(this.queueName, 'listen for progress', err);
    }
  }

  #startEvents(): Promise<void> {
    // A failed opening (Redis away) is not kept: the next wait tries again.
    this.#eventsReady ??= this.#openEvents().catch((err: unknown) => {
      this.#eventsReady = undefined;
      const events = this.#events;
      this.#events = undefined;
      void events?.close().catch(() => undefined);
      throw err;
    });
    return this.#eventsReady;
  }

  async #openEvents(): Promise<void> {
    // Read events from the stream's current end, taken *before* any job is
    // looked at: an outcome is either seen by the look (#check) or delivered
    // as an event. (QueueEvents' own default, '$', starts whenever its first
    // read happens, which can be after the look: outcomes in between are lost.)
    const client = (await this.#queue.backend.client) as unknown as { xrevrange(key: string, end: string, start: string, count: 'COUNT', n: number): Promise<Array<[string, string[]]>> };
    const last = await client.xrevrange(this.#queue.backend.keys.events ?? this.#queue.toKey('events'), '+', '-', 'COUNT', 1);
    const lastEventId = last[0]?.[0] ?? '0-0';
    const events = new QueueEvents(this.queueName, { connection: this.#connection, lastEventId, ...(this.#prefix !== undefined ? { prefix: this.#prefix } : {}) });
    this.#events = events;
    events.on('error', () => {
      // QueueEvents reconnects by itself, but events emitted meanwhile are missed: look again at every awaited job until a look succeeds.
      this.#scheduleRecheck();
    });
    events.on('progress', ({ jobId, data }) => {
      const callbacks = this.#progress.get(jobId);
      if (callbacks === undefined) return;
      for (const cb of callbacks) {
        try {
          cb(data);
        } catch (err) {
          // The job runs elsewhere: a caller's callback cannot fail it, but is not silenced either.
          process.emitWarning(`onProgress of job ${jobId} threw: ${err instanceof Error ? err.message : String(err)}`, { code: 'SLUICE_PROGRESS_CALLBACK' });
        }
      }
    });
    events.on('completed', ({ jobId, returnvalue }) => {
      this.#progress.delete(jobId);
      this.#settle(jobId, (w) => w.resolve(unwrapOutput(returnvalue)));
    });
    events.on('failed', ({ jobId, failedReason }) => {
      // 'failed' is the final failure: a retried attempt emits 'delayed' or 'waiting' instead.
      this.#progress.delete(jobId);
      if (!this.#waiters.has(jobId)) return;
      void this.#failedOutcome(jobId, failedReason).then((err) => this.#settle(jobId, (w) => w.reject(err)));
    });
    await events.waitUntilReady();
  }

  async #result(id: string, taskName: string): Promise<unknown> {
    const settled = new Promise<unknown>((resolve, reject) => {
      const list = this.#waiters.get(id) ?? [];
      list.push({ taskName, resolve, reject });
      this.#waiters.set(id, list);
    });
    // Subscribe first, then look: an outcome that came before the subscription is found by the look.
    await this.#startEvents();
    await this.#check(id);
    return settled;
  }

  /**
   * Looks again, every second until a look succeeds, at each job a
   * `result()` waits for. For callers that saw Redis go away by other means
   * than this client's event connection: outcomes (or the loss of the jobs,
   * when Redis restarted empty) during the outage are then not missed.
   */
  recheck(): void {
    this.#scheduleRecheck();
  }

  #scheduleRecheck(): void {
    if (this.#recheck !== undefined || this.#closed) return;
    this.#recheck = setInterval(() => {
      void (async () => {
        let ok = true;
        for (const id of [...this.#waiters.keys()]) ok = (await this.#check(id).catch(() => false)) !== false && ok;
        if (ok && this.#recheck !== undefined) {
          clearInterval(this.#recheck);
          this.#recheck = undefined;
        }
      })();
    }, 1000);
    this.#recheck.unref();
  }

  /** Settles the waiters of `id` if the job has finished; false when Redis could not be asked. */
  async #check(id: string): Promise<boolean> {
    let job: Job | undefined;
    try {
      job = await Job.fromId(this.#queue, id);
    } catch (err) {
      if (isConnectionError(err)) {
        this.#scheduleRecheck();
        return false;
      }
      throw err;
    }
    if (job === undefined) {
      this.#settle(id, (w) => w.reject(new JobLostError(this.queueName, id)));
      return true;
    }
    if (job.finishedOn === undefined || job.finishedOn === 0) return true;
    if (job.failedReason !== undefined && job.failedReason !== '' && (job.returnvalue === null || job.returnvalue === undefined)) {
      const err = errorOf(job, job.failedReason);
      this.#settle(id, (w) => w.reject(err));
    } else {
      const out = unwrapOutput(job.returnvalue);
      this.#settle(id, (w) => w.resolve(out));
    }
    return true;
  }

  async #failedOutcome(id: string, failedReason: string): Promise<Error> {
    try {
      const job = await Job.fromId(this.#queue, id);
      if (job !== undefined) return errorOf(job, failedReason);
    } catch {
      // fall through to the reason alone
    }
    return new Error(failedReason);
  }

  #settle(id: string, fn: (w: Waiter) => void): void {
    const list = this.#waiters.get(id);
    if (list === undefined) return;
    this.#waiters.delete(id);
    for (const w of list) fn(w);
  }
}

/** Connects to `queue` for submitting. */
export function createClient(options: ClientOptions): Client {
  return new Client(options);
}

function buildJob(input: unknown, options: SubmitOptions): { data: JobData; opts: JobsOptions } {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
  const correlationId = options.correlationId ?? randomUUID();
  if (typeof correlationId !== 'string') throw new InvalidOptionError('correlationId', 'a string', correlationId);
  const data: JobData = { v: 1, input, correlationId };
  const opts: JobsOptions = { priority: toBullPriority(options.priority) };
  if (options.delayMs !== undefined) {
    if (typeof options.delayMs !== 'number' || !Number.isFinite(options.delayMs) || options.delayMs < 0) throw new InvalidOptionError('delayMs', 'a non-negative number of milliseconds', options.delayMs);
    opts.delay = options.delayMs;
  }
  const attempts = options.attempts ?? 1;
  if (!Number.isInteger(attempts) || attempts < 1) throw new InvalidOptionError('attempts', 'a positive integer', options.attempts);
  if (attempts > 1 || options.backoff !== undefined) {
    data.retry = toWireRetry(options.backoff);
    opts.attempts = attempts;
    opts.backoff = { type: SLUICE_BACKOFF };
  }
  if (options.timeoutMs !== undefined) {
    if (typeof options.timeoutMs !== 'number' || !(options.timeoutMs > 0)) throw new InvalidOptionError('timeoutMs', 'a positive number of milliseconds', options.timeoutMs);
    data.timeoutMs = options.timeoutMs;
  }
  if (options.idempotencyKey !== undefined) {
    if (typeof options.idempotencyKey !== 'string' || options.idempotencyKey.length === 0) throw new InvalidOptionError('idempotencyKey', 'a non-empty string', options.idempotencyKey);
    // Hashed: BullMQ job ids may not be integers nor contain ':'.
    opts.jobId = `idem-${createHash('sha256').update(options.idempotencyKey).digest('hex').slice(0, 40)}`;
  }
  if (options.trace !== undefined) {
    const t = options.trace;
    if (typeof t !== 'object' || t === null) throw new InvalidOptionError('trace', 'an object { traceparent, tracestate }', t);
    data.trace = { ...(t.traceparent !== undefined ? { traceparent: String(t.traceparent) } : {}), ...(t.tracestate !== undefined ? { tracestate: String(t.tracestate) } : {}) };
  }
  return { data, opts };
}

/** The final error of a failed job, rebuilt from the encoded errors the serving side stored. */
export function errorOf(job: Job, failedReason: string): Error {
  const data = job.data as Partial<JobData> | undefined;
  const errors: EncodedError[] = Array.isArray(data?.errors) ? data.errors : [];
  const last = errors.at(-1);
  if (last === undefined) return new Error(failedReason);
  const err = decodeWireError(last, job.name);
  if (errors.length > 1) {
    Object.defineProperty(err, 'attempts', { value: errors.length, enumerable: true, writable: true, configurable: true });
    Object.defineProperty(err, 'previousErrors', { value: errors.slice(0, -1).map((e) => decodeWireError(e, job.name)), enumerable: false, writable: true, configurable: true });
  }
  return err;
}

function unwrapOutput(returnvalue: unknown): unknown {
  if (typeof returnvalue === 'string') {
    try {
      returnvalue = JSON.parse(returnvalue) as unknown;
    } catch {
      return returnvalue;
    }
  }
  return (returnvalue as { out?: unknown } | null)?.out;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no connection within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
