/**
 * The coordinator's side of a distributed `sluice run`: each input line
 * becomes one job on a BullMQ queue served by `sluice serve` processes, and
 * its outcome comes back to the coordinator, which alone writes the output.
 *
 * Three facts make a coordinator killed with `kill -9` safe to start again:
 * - the run's identity and id live in Redis (`<prefix>:<queue>:sluice-run`),
 *   so the restarted coordinator finds the same run id;
 * - a line's job id is derived from the run id and the line number
 *   (createClient's idempotency key), so adding a line again while its job
 *   still exists returns that job: nothing doubles, and an outcome that came
 *   while the coordinator was down is collected, not recomputed;
 * - the output is the coordinator's journal's business (src/cli/run): a line
 *   is finished when its outcome is written there, whatever Redis holds.
 * A second run on the same queue is refused while the first holds it: the
 * claim is released when a run ends normally, and kept when it is killed.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { SluiceError, ErrorCodes } from '../api/errors.js';
import { Client } from './client.js';
import { checkQueueName, isConnectionError, toConnectionOptions, type Connection } from './connection.js';
import { JobLostError, RedisUnavailableError } from './errors.js';
import { countServers } from './presence.js';

/** What makes two coordinators the same run. */
export interface RunIdentity {
  task: string;
  /** Absolute input path, or '-'. */
  input: string;
  inputSize?: number;
  inputMtimeMs?: number;
  /** Absolute output path. */
  output: string;
}

interface RunClaim extends RunIdentity {
  runId: string;
  startedAt: string;
  host: string;
  pid: number;
}

export interface RunQueueOptions {
  connection: Connection;
  queue: string;
  identity: RunIdentity;
  /** Start a new run id even if this run's claim is found (`--fresh`). */
  fresh?: boolean;
  prefix?: string;
  /** How long the first connection may take. @default 5000 */
  connectTimeoutMs?: number;
  /** How often to count servers and probe Redis. @default 1000 */
  pollMs?: number;
}

export interface LineJobOptions {
  /** Tries in all (BullMQ `attempts`). */
  attempts: number;
  /** Backoff before the first retry, doubled for each further one. */
  retryDelayMs: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The values the line's task reports (`ctx.progress`), as its server writes them to the job. */
  onProgress?: (value: unknown) => void;
}

export interface RunQueueStatus {
  /** `sluice serve` processes serving the queue (presence.ts); undefined until first counted. */
  servers: number | undefined;
  /** Since when (ms since epoch) Redis has been unreachable; undefined while it answers. */
  downSince: number | undefined;
}

/** The queue is claimed by another run. */
export class RunQueueBusyError extends SluiceError {
  readonly queue: string;
  readonly claim: Readonly<RunClaim>;
  constructor(queue: string, key: string, claim: RunClaim) {
    super(
      ErrorCodes.INVALID_OPTION,
      `queue "${queue}" is in use by another run (task "${claim.task}" over ${claim.input} -> ${claim.output}, run ${claim.runId}, started ${claim.startedAt} on ${claim.host} pid ${claim.pid}); ` +
        `use another --redis-queue, let that run finish, or delete the key "${key}" if it was abandoned`,
    );
    this.queue = queue;
    this.claim = claim;
  }
}

type RawRedis = { set(k: string, v: string, nx: 'NX'): Promise<string | null>; set(k: string, v: string): Promise<string>; get(k: string): Promise<string | null>; del(k: string): Promise<number> };

export class RunQueue {
  readonly runId: string;
  /** Whether the run id was found in Redis (a restarted coordinator), not made now. */
  readonly resumed: boolean;
  readonly queueName: string;
  readonly #client: Client;
  readonly #key: string;
  readonly #pollMs: number;
  #servers: number | undefined;
  #downSince: number | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(client: Client, key: string, runId: string, resumed: boolean, pollMs: number) {
    this.#client = client;
    this.queueName = client.queueName;
    this.#key = key;
    this.runId = runId;
    this.resumed = resumed;
    this.#pollMs = pollMs;
  }

  /**
   * Connects and claims the queue for this run. Rejects with
   * RedisUnavailableError (unreachable, refused credentials, TLS failure)
   * or RunQueueBusyError.
   */
  static async open(options: RunQueueOptions): Promise<RunQueue> {
    const queue = checkQueueName(options.queue);
    const connection = toConnectionOptions(options.connection);
    const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    await probe(queue, connection, options.prefix, connectTimeoutMs);
    const client = new Client({ connection, queue, connectTimeoutMs, ...(options.prefix !== undefined ? { prefix: options.prefix } : {}) });
    try {
      const redis = (await client.queue.backend.client) as unknown as RawRedis;
      const key = client.queue.toKey('sluice-run');
      const mine: RunClaim = { ...options.identity, runId: randomUUID(), startedAt: new Date().toISOString(), host: hostname(), pid: process.pid };
      let claim = mine;
      let resumed = false;
      if ((await redis.set(key, JSON.stringify(mine), 'NX')) === null) {
        const held = JSON.parse((await redis.get(key)) ?? 'null') as RunClaim | null;
        if (held !== null && !sameRun(held, options.identity)) throw new RunQueueBusyError(queue, key, held);
        if (held !== null && options.fresh !== true) {
          claim = held;
          resumed = true;
        } else {
          await redis.set(key, JSON.stringify(mine));
        }
      }
      const rq = new RunQueue(client, key, claim.runId, resumed, options.pollMs ?? 1000);
      rq.#startPolling();
      return rq;
    } catch (err) {
      await client.close();
      if (err instanceof RunQueueBusyError || err instanceof RedisUnavailableError) throw err;
      throw new RedisUnavailableError(queue, 'claim the queue for this run', err);
    }
  }

  status(): RunQueueStatus {
    return { servers: this.#servers, downSince: this.#downSince };
  }

  /**
   * Runs line `line` as a job and resolves with the task's output, or
   * rejects with its error (same classes as a local pool). While Redis is
   * away it waits and tries again: the job id is the line's, so a retry
   * never adds a second job. Rejects with the signal's reason once aborted.
   */
  async run(line: number, task: string, input: unknown, options: LineJobOptions): Promise<unknown> {
    const key = `${this.runId}:${line}`;
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        const handle = await this.#client.submit(task, input, {
          idempotencyKey: key,
          correlationId: key,
          ...(options.attempts > 1 ? { attempts: options.attempts, backoff: { type: 'exponential', baseMs: options.retryDelayMs, jitter: 'none' } } : {}),
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
        });
        this.#up();
        return await abortable(handle.result(), options.signal);
      } catch (err) {
        if (this.#closed) throw err;
        // Redis went away (or lost the job with its data): add the line again, under the same id, once it is back.
        if (err instanceof RedisUnavailableError || err instanceof JobLostError || isConnectionError(err)) {
          if (!(err instanceof JobLostError)) this.#down();
          await pause(this.#pollMs, options.signal);
          continue;
        }
        throw err;
      }
    }
  }

  /** The run ended normally: releases the queue for other runs, then closes. */
  async finish(): Promise<void> {
    if (this.#closed) return;
    try {
      const redis = (await this.#client.queue.backend.client) as unknown as RawRedis;
      const held = JSON.parse((await redis.get(this.#key)) ?? 'null') as RunClaim | null;
      if (held?.runId === this.runId) await redis.del(this.#key);
    } catch {
      // Redis away at the very end: the claim stays, and the next run of this input resumes it (every line is in the journal).
    }
    await this.close();
  }

  /** Closes without releasing the claim: the jobs in Redis wait for this run to be started again. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#poll);
    await this.#client.close();
  }

  #startPolling(): void {
    const tick = async (): Promise<void> => {
      try {
        this.#servers = await countServers(this.#client.queue);
        this.#up();
      } catch (err) {
        if (isConnectionError(err)) this.#down();
      }
      if (!this.#closed) {
        this.#poll = setTimeout(() => void tick(), this.#pollMs);
        this.#poll.unref();
      }
    };
    void tick();
  }

  #down(): void {
    this.#downSince ??= Date.now();
  }

  #up(): void {
    if (this.#downSince === undefined) return;
    this.#downSince = undefined;
    // Outcomes during the outage may not come as events, and a Redis that restarted empty lost the jobs: look at each awaited one.
    this.#client.recheck();
  }
}

/** One connection attempt, no retries: says at once, and why, when Redis cannot be used. */
async function probe(queue: string, connection: ReturnType<typeof toConnectionOptions>, prefix: string | undefined, timeoutMs: number): Promise<void> {
  const q = new Queue(queue, {
    connection: { ...connection, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs },
    ...(prefix !== undefined ? { prefix } : {}),
  });
  // The connection's own error (ECONNREFUSED, a TLS failure) says more than the "connection closed" that follows it.
  let last: Error | undefined;
  q.on('error', (err: Error) => (last = err));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(last ?? new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      q.waitUntilReady().then(async () => {
        const redis = (await q.backend.client) as unknown as { ping(): Promise<string> };
        await redis.ping();
      }),
      expired,
    ]);
  } catch (err) {
    const refused = err instanceof Error && /WRONGPASS|NOAUTH|NOPERM|invalid password/i.test(err.message);
    throw new RedisUnavailableError(queue, 'connect', refused ? err : (last ?? err));
  } finally {
    clearTimeout(timer);
    await q.close().catch(() => undefined);
  }
}

function sameRun(a: RunIdentity, b: RunIdentity): boolean {
  return a.task === b.task && a.input === b.input && a.output === b.output && a.inputSize === b.inputSize && a.inputMtimeMs === b.inputMtimeMs;
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(reasonOf(signal));
    const onAbort = (): void => reject(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(reasonOf(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function reasonOf(signal: AbortSignal | undefined): Error {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r : new Error(String(r));
}
