/**
 * Which servers are serving a queue: each `serve()` writes its name and the
 * time into a sorted set `<prefix>:<queue>:sluice-servers` every second while
 * it fetches, and removes it on close; a reader counts the names seen in the
 * last few seconds, so a server killed with SIGKILL drops out by itself.
 * (BullMQ's own `getWorkers()` reads CLIENT LIST, which names a worker's
 * connection only once it first blocks for a job, and which managed Redis
 * services often refuse.)
 */

import type { Queue, Worker } from 'bullmq';

const EVERY_MS = 1000;
/** A server not heard from for this long is not counted. */
const STALE_MS = 5000;

type Redis = {
  zadd(key: string, score: number, member: string): Promise<unknown>;
  zrem(key: string, member: string): Promise<unknown>;
  zcount(key: string, min: number, max: string): Promise<number>;
  zremrangebyscore(key: string, min: string, max: number): Promise<unknown>;
};

async function redisOf(q: Queue | Worker): Promise<Redis> {
  return (await q.backend.client) as unknown as Redis;
}

export interface Presence {
  stop(): Promise<void>;
}

/** Announces `name` on the worker's queue until stopped. Redis errors are the worker's business: a missed beat is harmless. */
export function announce(worker: Worker, name: string): Presence {
  const key = worker.toKey('sluice-servers');
  const beat = (): void => {
    void redisOf(worker)
      .then((r) => r.zadd(key, Date.now(), name))
      .catch(() => undefined);
  };
  beat();
  const timer = setInterval(beat, EVERY_MS);
  timer.unref();
  return {
    async stop(): Promise<void> {
      clearInterval(timer);
      await redisOf(worker)
        .then((r) => r.zrem(key, name))
        .catch(() => undefined);
    },
  };
}

/** Servers heard from in the last few seconds on `queue`; forgets long-gone ones. Rejects when Redis cannot be asked. */
export async function countServers(queue: Queue, now = Date.now()): Promise<number> {
  const key = queue.toKey('sluice-servers');
  const r = await redisOf(queue);
  await r.zremrangebyscore(key, '-inf', now - 60 * STALE_MS);
  return r.zcount(key, now - STALE_MS, '+inf');
}
