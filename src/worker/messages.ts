/**
 * The messages every kind of worker posts to its handle, dispatched in one
 * place: thread.ts and process.ts both call `dispatchCommon` for what they do
 * not handle themselves (a process keeps its own books on Op.Results and
 * Op.Started first, and handles Op.Report and Op.Beat, which threads do not
 * send).
 */

import type { decodeError } from '../wire/error-codec.js';
import { Op } from '../wire/protocol.js';
import type { DiagRequests, WorkerSelfReport } from '../observability/worker-diagnostics.js';
import type { WorkerEvents, WorkerHandle } from './handle.js';

/**
 * Passes a worker's message to `events` (or `diag`, for Op.DiagReply).
 * Returns false for an op it does not handle (Op.Leaving, Op.Report,
 * Op.Beat, an unknown op), which the caller then handles or ignores.
 * Op.Results, the per-batch message, is tested first and nothing is
 * allocated on the way.
 */
export function dispatchCommon(handle: WorkerHandle, events: WorkerEvents, diag: DiagRequests, msg: unknown[]): boolean {
  switch (msg[0]) {
    case Op.Results:
      events.results(handle, msg);
      return true;
    case Op.Started:
      events.started(handle, msg[1] as number, msg[2] as number);
      return true;
    case Op.Ready:
      events.ready(handle, msg[1] as string[], msg[2] as number | undefined);
      return true;
    case Op.HealthReply:
      events.health?.(handle, msg[2] as boolean, msg[3] as string | undefined);
      return true;
    case Op.InitError:
      events.initError(handle, msg[1] as Parameters<typeof decodeError>[0], msg[2] as string | undefined);
      return true;
    case Op.Progress:
      events.progress?.(handle, msg);
      return true;
    case Op.SyncReply:
      events.synced?.(handle, msg[1] as number);
      return true;
    case Op.IoBound:
      events.ioBound?.(handle, msg[1] === 1);
      return true;
    case Op.DiagReply:
      diag.reply(msg[1] as number, msg[2] as WorkerSelfReport);
      return true;
    default:
      return false;
  }
}

