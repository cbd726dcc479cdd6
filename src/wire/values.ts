/**
 * Buffers across a thread boundary. Structured clone (postMessage) turns a
 * Node `Buffer` into a plain `Uint8Array`, so `buf.toString()` in a thread
 * task would give "104,101,..." where the same module in a process (whose
 * 'advanced' serialization keeps Buffers) or in-process gives "hello". The
 * sending side notes where the Buffers are; the receiving side rebuilds a
 * Buffer over the same bytes (`Buffer.from(u8.buffer, offset, length)`: a
 * view, no copy).
 *
 * How deep it looks (BUFFER_DEPTH): the value itself, and values inside
 * plain objects and arrays at most BUFFER_DEPTH levels down
 * (`{ files: [{ body: buf }] }` is 3). Not inside Maps, Sets, class
 * instances or deeper nesting: there a Buffer arrives as a Uint8Array
 * (docs/kinds.md, "Values across the boundary"). The walk allocates
 * nothing while it finds no Buffer, and a value that is not an object costs
 * one `typeof`: tiny tasks with number or string inputs pay nothing.
 *
 * On the wire (protocol.ts): a marked value travels as `[value, paths]`
 * with a flag saying so (a Run task's name index as `~index`, a result's
 * Status.OkBuffers in an Op.ResultsBuffers batch, a progress report's seq
 * as `~seq` in an Op.ProgressBuffers message); everything else travels as
 * it always did.
 */

import { Op, Status } from './protocol.js';

/** Plain objects and arrays this many levels down are searched for Buffers. */
export const BUFFER_DEPTH = 3;

/** Where a Buffer sits: the keys (and array indices) from the value down to it; `[]` is the value itself. */
export type BufferPath = (string | number)[];

/** The Buffers in `value` (within BUFFER_DEPTH), or null when there is none: one `typeof` for a value that is not an object. */
export function bufferPaths(value: unknown): BufferPath[] | null {
  if (typeof value !== 'object' || value === null) return null;
  if (value instanceof Buffer) return [[]];
  return scan(value, 1);
}

/** A plain object's or an array's Buffers, children at `depth`; anything else is not looked into. */
function scan(v: object, depth: number): BufferPath[] | null {
  let found: BufferPath[] | null = null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null) found = visit(x, i, depth, found);
    }
    return found;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return null;
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === 'object' && x !== null) found = visit(x, k, depth, found);
  }
  return found;
}

function visit(x: object, key: string | number, depth: number, found: BufferPath[] | null): BufferPath[] | null {
  if (x instanceof Buffer) {
    (found ??= []).push([key]);
    return found;
  }
  if (depth >= BUFFER_DEPTH) return found;
  const below = scan(x, depth + 1);
  if (below === null) return found;
  found ??= [];
  for (const p of below) {
    p.unshift(key);
    found.push(p);
  }
  return found;
}

/** A Buffer over the same bytes as `u8`: no copy. */
function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/**
 * Turns the Uint8Arrays at `paths` back into Buffers, in place (the value
 * is this side's own copy), and returns the value (a new one for `[]`).
 * One Uint8Array reached twice becomes one Buffer, as it was one Buffer.
 */
export function reviveBuffers(value: unknown, paths: readonly BufferPath[]): unknown {
  let made: Map<Uint8Array, Buffer> | undefined;
  for (const path of paths) {
    if (path.length === 0) return value instanceof Uint8Array ? asBuffer(value) : value;
    // The value may not have the shape the path was taken from (an error
    // field that could only be sent as its description): a path that leaves
    // the objects is skipped, never followed into undefined.
    let parent: unknown = value;
    for (let i = 0; i < path.length - 1 && typeof parent === 'object' && parent !== null; i++) parent = (parent as Record<string | number, unknown>)[path[i] as string | number];
    if (typeof parent !== 'object' || parent === null) continue;
    const key = path[path.length - 1] as string | number;
    const u8 = (parent as Record<string | number, unknown>)[key];
    if (!(u8 instanceof Uint8Array) || u8 instanceof Buffer) continue;
    made ??= new Map();
    let buf = made.get(u8);
    if (buf === undefined) made.set(u8, (buf = asBuffer(u8)));
    (parent as Record<string | number, unknown>)[key] = buf;
  }
  return value;
}

/** A marked value as it travels: `[value, paths]`. */
export type Marked = [unknown, BufferPath[]];

/**
 * Rewrites an Op.ResultsBuffers or Op.ProgressBuffers message, in place,
 * into the plain Op.Results or Op.Progress it stands for, with its Buffers
 * rebuilt. Other messages are left alone.
 */
export function reviveMessage(msg: unknown[]): void {
  if (msg[0] === Op.ResultsBuffers) {
    for (let i = 1; i < msg.length; i += 3) {
      if (msg[i + 1] !== Status.OkBuffers) continue;
      const [value, paths] = msg[i + 2] as Marked;
      msg[i + 1] = Status.Ok;
      msg[i + 2] = reviveBuffers(value, paths);
    }
    msg[0] = Op.Results;
  } else if (msg[0] === Op.ProgressBuffers) {
    for (let i = 1; i < msg.length; i += 2) {
      const seq = msg[i] as number;
      if (seq >= 0) continue;
      const [value, paths] = msg[i + 1] as Marked;
      msg[i] = ~seq;
      msg[i + 1] = reviveBuffers(value, paths);
    }
    msg[0] = Op.Progress;
  }
}
