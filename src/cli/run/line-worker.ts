/**
 * The module `sluice run` gives its thread and process workers: the task
 * module named in this file's URL (`?module=<file URL>&task=<name>`), its
 * tasks and lifecycle hooks as they are, plus the block task that runs
 * many lines per message (line-block.ts). Loading the task module from here
 * keeps its own loaders (`--import tsx`) and `sluice.init` working as if the
 * pool had loaded it directly.
 */

import { collectTasks } from '../../runtime/collect-tasks.js';
import { BLOCK_TASK, runBlock, type BlockContext, type LineBlock } from './line-block.js';

const params = new URL(import.meta.url).searchParams;
const moduleUrl = params.get('module');
const taskName = params.get('task');
if (moduleUrl === null || taskName === null) throw new Error(`sluice run's worker module needs ?module=...&task=... in its URL, got ${import.meta.url}`);

const ns = (await import(moduleUrl)) as Record<string, unknown>;
const tasks: Record<string, unknown> = Object.fromEntries(collectTasks(ns));
const task = tasks[taskName] as ((input: unknown, ctx: unknown) => unknown) | undefined;
if (task !== undefined) {
  tasks[BLOCK_TASK] = (block: LineBlock, ctx: BlockContext) => runBlock(task, taskName, block, ctx);
}

/** The task module's lifecycle hooks (`init`, `teardown`, `health`), passed through. */
export const sluice: unknown = ns.sluice ?? (ns.default !== null && typeof ns.default === 'object' ? (ns.default as Record<string, unknown>).sluice : undefined);

export default tasks;
