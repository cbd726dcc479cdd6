/** The `connection` option: BullMQ's connection options, an ioredis client, or a redis:// URL. */

import type { ConnectionOptions } from 'bullmq';
import { InvalidOptionError } from '../api/errors.js';

export type Connection = ConnectionOptions | string;

/** A redis:// URL as ioredis options; anything else as given. */
export function toConnectionOptions(connection: Connection | undefined): ConnectionOptions {
  if (typeof connection === 'string') {
    let url: URL;
    try {
      url = new URL(connection);
    } catch {
      throw new InvalidOptionError('connection', 'a redis:// URL or connection options', connection);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new InvalidOptionError('connection', 'a redis:// URL or connection options', connection);
    const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
    return {
      host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
      port: url.port === '' ? 6379 : Number(url.port),
      ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
      ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password !== '' ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    };
  }
  if (typeof connection !== 'object' || connection === null) throw new InvalidOptionError('connection', 'a redis:// URL or connection options', connection);
  return connection;
}

/** Whether `connection` is a client object (used as is) rather than options (BullMQ makes the clients). */
export function isClient(connection: ConnectionOptions): boolean {
  return typeof (connection as { duplicate?: unknown }).duplicate === 'function';
}

export function checkQueueName(queue: unknown): string {
  if (typeof queue !== 'string' || queue.length === 0 || queue.includes(':')) throw new InvalidOptionError('queue', 'a non-empty queue name without ":"', queue);
  return queue;
}

/** Errors that mean "Redis is not there" rather than "Redis said no". */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH)$/.test(code)) return true;
  return /Stream isn't writeable|enableOfflineQueue|Connection is closed|connect ECONNREFUSED|MaxRetriesPerRequest|Connection timeout|socket closed/i.test(err.message) || err.name === 'MaxRetriesPerRequestError';
}
