/**
 * One spawn function per kind: the only place the scheduler's default
 * worker factory looks at `options.kind`.
 */

import type { SpawnWorker } from './handle.js';
import type { ResolvedPoolOptions } from '../config/validate.js';
import { InlineWorker } from './inline.js';
import { ProcessWorker } from './process.js';
import { ThreadWorker } from './thread.js';

export function spawnerFor(options: ResolvedPoolOptions, corrPrefix: string): SpawnWorker {
  switch (options.kind) {
    case 'async': {
      const tasks = options.tasks ?? [];
      return (id, events) => new InlineWorker({ id, tasks, corrPrefix, abortGraceMs: options.abortGraceMs, clock: options.clock }, events);
    }
    case 'process': {
      const placement = options.placement;
      const taskset = placement?.taskset;
      const cpusFor = placement?.cpusFor;
      return (id, events) =>
        new ProcessWorker(
          {
            id,
            moduleUrl: options.moduleUrl,
            corrPrefix,
            resourceLimits: options.resourceLimits,
            execArgv: options.execArgv,
            env: options.env,
            setup: options.workerSetup,
            heartbeatMs: options.supervision.heartbeat?.intervalMs,
            workerData: options.workerData,
            nice: placement?.nice,
            cpus: cpusFor === undefined || taskset === undefined ? undefined : { list: cpusFor(id), taskset },
          },
          events,
        );
    }
    default:
      return (id, events) =>
        new ThreadWorker(
          { id, moduleUrl: options.moduleUrl, corrPrefix, resourceLimits: options.resourceLimits, execArgv: options.execArgv, env: options.env, setup: options.workerSetup, heartbeatMs: options.supervision.heartbeat?.intervalMs, workerData: options.workerData },
          events,
        );
  }
}
