// A TypeScript consumer of the installed tarball, type-checked (never run)
// with `module: nodenext` and with `moduleResolution: bundler`, with
// skipLibCheck off so the shipped declarations are checked too.
import { createPool, InvalidOptionError, type Pool, type PoolStats, type TaskContext } from 'sluice';
import { ManualClock } from 'sluice/testing';
import { instrumentPool as withMetrics, type PoolMetrics } from 'sluice/prometheus';
import { instrumentPool as withTracing, type PoolTracing } from 'sluice/otel';
import { registerTaskHook, type TaskHook } from 'sluice/worker';
import { createClient, serve, type Client, type Server } from 'sluice/bullmq';
import * as Tasks from './typed-tasks.js';

export async function use(): Promise<void> {
  const pool: Pool<typeof Tasks> = createPool<typeof Tasks>({
    module: new URL('./typed-tasks.js', import.meta.url),
    size: 2,
    clock: new ManualClock(),
  });
  const n: number = await pool.run('inc', 41);
  // @ts-expect-error: the task's input is a number
  await pool.run('inc', 'x');
  // @ts-expect-error: no such task
  await pool.run('dec', 1);
  const stats: PoolStats = pool.stats();
  // An async pool is typed by the functions it is given.
  const inline = createPool({ kind: 'async', tasks: Tasks });
  const m: number = await inline.run('inc', 1);
  // @ts-expect-error: the task's input is a number
  await inline.run('inc', 'x');
  // A pool from the main entry is the pool the other entries take: one declaration of Pool.
  const metrics: PoolMetrics = withMetrics(pool);
  const tracing: PoolTracing = withTracing(pool);
  const hook: TaskHook = (run) => run();
  const unregister: () => void = registerTaskHook(hook);
  const client: Client = createClient({ connection: 'redis://127.0.0.1:6379', queue: 'q' });
  const server: Promise<Server> = serve<typeof Tasks>({ connection: 'redis://127.0.0.1:6379', queue: 'q', pool: { kind: 'thread', module: new URL('./typed-tasks.js', import.meta.url) } });
  const task = (input: number, ctx: TaskContext): string => `${input} ${ctx.taskId}`;
  void [n, m, stats, metrics, tracing, unregister, client, server, task, InvalidOptionError];
  await pool.close();
}
