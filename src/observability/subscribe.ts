/**
 * How the subscribers (logs, `sluice/prometheus`, `sluice/otel`) listen to
 * one pool: a handler per channel, called only with that pool's messages
 * (every channel is shared by all the pools of the process), and one
 * function that detaches them all.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { channels, type ChannelEvent } from './diagnostics.js';

export type PoolHandlers = { [K in keyof typeof channels]?: (event: ChannelEvent<K>) => void };

/** Subscribes `handlers` to their channels, each filtered to messages whose `poolId` is `poolId`. Returns the detach function. */
export function subscribePool(poolId: string, handlers: PoolHandlers): () => void {
  const subs: [name: string, listener: (message: unknown) => void][] = [];
  for (const key of Object.keys(handlers) as (keyof typeof channels)[]) {
    const fn = handlers[key] as ((event: unknown) => void) | undefined;
    if (fn === undefined) continue;
    subs.push([
      channels[key].name as string,
      (message) => {
        if ((message as { poolId?: unknown } | null)?.poolId === poolId) fn(message);
      },
    ]);
  }
  for (const [name, listener] of subs) subscribe(name, listener);
  return () => {
    for (const [name, listener] of subs) unsubscribe(name, listener);
  };
}
