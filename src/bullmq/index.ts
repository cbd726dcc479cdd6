/**
 * `sluice/bullmq`: run sluice tasks across machines through a BullMQ queue.
 * Producers `createClient({ connection, queue }).submit(...)`; each machine
 * `serve({ connection, queue, pool })`. See docs/bullmq.md.
 * Needs the optional peer dependencies `bullmq` and `ioredis`.
 */

export { Client, createClient, type ClientOptions, type JobHandle, type SubmitOptions } from './client.js';
export { Server, serve, type JobInfo, type ServeOptions, type ServerStats } from './serve.js';
export { BullmqErrorCodes, JobLostError, RedisUnavailableError } from './errors.js';
export { deadLetterQueueName, toBullPriority, type BackoffOption, type BullDeadLetter, type TraceContext } from './mapping.js';
export type { Connection } from './connection.js';
export type { RedriveResult } from './dead-letters.js';
