/**
 * Finding Buffers and rebuilding them after structured clone (wire/values.ts),
 * without a pool: how deep it looks, what it does not look into, and that a
 * Buffer reached twice comes back as one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUFFER_DEPTH, bufferPaths, reviveBuffers } from '../../src/wire/values.js';
import { checkTransferList, moveValues } from '../../src/wire/transfer.js';

/** What a thread would receive: structured clone, then the Buffers rebuilt. */
function across<T>(value: T): T {
  const paths = typeof value === 'object' && value !== null ? bufferPaths(value) : null;
  const copy = structuredClone(value);
  return (paths === null ? copy : reviveBuffers(copy, paths)) as T;
}

test('no Buffer: null, whatever the shape', () => {
  assert.equal(bufferPaths({ a: 1, b: [1, 'x', { c: null }], d: new Uint8Array(2), m: new Map() }), null);
  assert.equal(bufferPaths([]), null);
  assert.equal(bufferPaths(new Uint8Array(1)), null);
});

test('the value itself, and plain objects and arrays down to BUFFER_DEPTH', () => {
  assert.equal(BUFFER_DEPTH, 3);
  assert.deepEqual(bufferPaths(Buffer.from('a')), [[]]);
  assert.deepEqual(bufferPaths({ files: [{ name: 'f', body: Buffer.from('x') }], head: Buffer.from('h') }), [['files', 0, 'body'], ['head']]);
  // Four levels down: not looked at.
  assert.equal(bufferPaths({ a: { b: { c: { d: Buffer.from('z') } } } }), null);
  // Not into a Map, a Set or a class instance.
  class Box {
    b = Buffer.from('b');
  }
  assert.equal(bufferPaths({ m: new Map([['k', Buffer.from('m')]]), s: new Set([Buffer.from('s')]), box: new Box() }), null);
  assert.deepEqual(bufferPaths(Object.assign(Object.create(null) as object, { b: Buffer.from('n') })), [['b']]);
});

test('rebuilt over the same bytes: a view at its offset, one Buffer where there was one', () => {
  const slice = Buffer.from('hello world').subarray(6);
  const shared = Buffer.from('same');
  const out = across({ slice, twice: [shared, shared], top: Buffer.from('t'), plain: new Uint8Array([1]) });
  assert.ok(Buffer.isBuffer(out.slice));
  assert.equal(out.slice.toString(), 'world');
  assert.ok(Buffer.isBuffer(out.twice[0]));
  assert.equal(out.twice[0], out.twice[1], 'one Buffer, as it was one Buffer');
  assert.equal(out.top.toString(), 't');
  assert.ok(!Buffer.isBuffer(out.plain), 'a Uint8Array stays a Uint8Array');
  const top = across(Buffer.from('hello'));
  assert.ok(Buffer.isBuffer(top));
  assert.equal(top.toString(), 'hello');
});

test('moveValues: cloned under the transfer list, Buffers kept, the sender detached; a refused list detaches nothing', () => {
  const buf = Buffer.alloc(4, 1);
  const [moved] = moveValues([{ buf }], [buf.buffer]) as [{ buf: Buffer }];
  assert.ok(Buffer.isBuffer(moved.buf));
  assert.equal(moved.buf.toString('hex'), '01010101');
  assert.equal(buf.buffer.byteLength, 0);
  const ab = new ArrayBuffer(4);
  assert.throws(() => moveValues([ab, () => 1], [ab]), { name: 'DataCloneError' });
  assert.equal(ab.byteLength, 4);
});

test('checkTransferList refuses what postMessage refuses, and anything a process cannot receive', () => {
  const ab = new ArrayBuffer(1);
  checkTransferList([ab, new ArrayBuffer(1)]);
  assert.throws(() => checkTransferList([ab, ab]), { name: 'DataCloneError' });
  assert.throws(() => checkTransferList([new SharedArrayBuffer(1) as unknown as ArrayBuffer]), TypeError);
  assert.throws(() => checkTransferList([new Uint8Array(1) as unknown as ArrayBuffer]), TypeError);
});
