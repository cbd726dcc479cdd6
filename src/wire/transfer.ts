/**
 * `transfer` where no postMessage moves the buffers: the same outcome as on
 * a thread, reached another way, so code behaves the same on every kind.
 *
 * - kind 'process': the message is serialized into the IPC pipe (a copy),
 *   then the transfer list is detached (`checkTransferList` first, so a list
 *   postMessage would refuse is refused before anything is sent; `detach`
 *   after the send). A copy plus a detach: what the sender sees is what a
 *   thread's sender sees.
 * - kind 'async': nothing crosses a boundary, so the value is moved with
 *   `structuredClone(value, { transfer })` (`moveValues`): the receiver gets
 *   the buffers (no copy of them), the sender's are detached, and the rest
 *   of the value is cloned as a thread would clone it, Buffers included.
 */

import type { Transferable } from '../api/types.js';
import { bufferPaths, reviveBuffers, type BufferPath } from './values.js';

/**
 * Throws as postMessage would for this transfer list, before anything is
 * sent: a duplicate (DataCloneError) or something that is not an
 * ArrayBuffer (TypeError; a MessagePort cannot reach another process).
 */
export function checkTransferList(list: readonly Transferable[]): void {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!(item instanceof ArrayBuffer)) {
      throw new TypeError(`Found invalid object in transferList: a process worker can be sent only ArrayBuffers by transfer (item ${i} is ${Object.prototype.toString.call(item)})`);
    }
    for (let j = 0; j < i; j++) if (list[j] === item) throw new DOMException('Transfer list contains duplicate ArrayBuffer', 'DataCloneError');
  }
}

/** Detaches every buffer in the list (its contents were already sent): no copy. Never throws. */
export function detach(list: readonly Transferable[]): void {
  try {
    structuredClone(undefined, { transfer: list as Transferable[] });
  } catch {
    // checkTransferList let it through, so this does not happen; the values were sent either way.
  }
}

/**
 * A send to a process under a transfer list: the list refused as
 * postMessage would refuse it, before anything is sent; then `send` (which
 * serialises at once); then the sender's buffers detached.
 */
export function sendThenDetach(send: () => void, list: readonly Transferable[] | undefined): void {
  if (list === undefined) return send();
  checkTransferList(list);
  send();
  detach(list);
}

/**
 * `values` moved as a postMessage would move them: a structured clone
 * under the transfer list, Buffers kept (values.ts). Throws (a
 * DataCloneError, nothing detached) when one cannot be cloned.
 */
export function moveValues(values: readonly unknown[], list: readonly Transferable[]): unknown[] {
  let marks: (BufferPath[] | null)[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const paths = bufferPaths(v);
    if (paths !== null) (marks ??= new Array<BufferPath[] | null>(values.length).fill(null))[i] = paths;
  }
  const moved = structuredClone(values, { transfer: list as Transferable[] }) as unknown[];
  if (marks !== undefined) {
    for (let i = 0; i < moved.length; i++) {
      const paths = marks[i];
      if (paths !== null && paths !== undefined) moved[i] = reviveBuffers(moved[i], paths);
    }
  }
  return moved;
}
