// The tasks of the `pays` scenario (when a pool pays), the same functions
// whether called in the main thread or run in a pool.
import { pbkdf2Sync } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { busy } from './work.js';

/** PBKDF2 in this thread (what a pool of threads would run). */
export function pbkdf2(input) {
  return pbkdf2Sync(input.password, input.salt, input.iterations, 32, 'sha256').length;
}

/** gzip in this thread. */
export function gzip(bytes) {
  return gzipSync(bytes).length;
}

/**
 * A validation-like task: reads every field of a document of about 1 KB
 * (which crosses to the worker and is cloned, as a real one is), then
 * computes for `us` microseconds. Returns a small verdict, as a validator does.
 */
export function check(input) {
  let fields = 0;
  for (const [k, v] of Object.entries(input.doc)) fields += k.length + (typeof v === 'string' ? v.length : 1);
  busy(input.us);
  return fields > 0;
}

/** Waits `ms` like a request to a backend would: no CPU, only time. */
export async function io(ms) {
  await sleep(ms);
  return ms;
}
