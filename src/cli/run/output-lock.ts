/**
 * `<output>.lock`: one `sluice run` per output at a time. Two runs appending
 * to the same output and journal would corrupt both, so the second is
 * refused (exit 2). The lock file holds its owner's pid and host; a lock
 * whose owner is gone (killed with SIGKILL, the machine restarted) is stale
 * and taken over, with a note.
 *
 * Created with O_EXCL, so of two runs starting together one wins. Not a
 * lock across machines sharing a file system: a lock from another host is
 * refused (its pid cannot be checked from here).
 */

import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { UsageError } from '../exit-codes.js';

export interface OutputLock {
  readonly path: string;
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): Owner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? { pid: o.pid, host: o.host } : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock on `output`, or throws a UsageError naming its owner. `note` reports a stale lock taken over. */
export function lockOutput(output: string, note: (message: string) => void): OutputLock {
  const path = `${output}.lock`;
  const me: Owner = { pid: process.pid, host: hostname() };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new UsageError(`cannot create the lock file ${path}: ${(err as Error).message}`);
      const owner = readOwner(path);
      if (owner !== undefined && owner.host !== me.host) {
        throw new UsageError(`output ${output} is locked by sluice run (pid ${owner.pid}) on host ${owner.host} (lock file ${path}); if that run is over, delete the lock file`);
      }
      // An unreadable lock is one whose owner died mid-write; our own pid in it is an earlier life of this pid.
      if (owner !== undefined && owner.pid !== me.pid && alive(owner.pid)) {
        throw new UsageError(`output ${output} is locked by another sluice run (pid ${owner.pid}, lock file ${path}); wait for it to finish, or stop it`);
      }
      note(`sluice: taking over the stale lock ${path} (${owner === undefined ? 'unreadable' : `pid ${owner.pid} is gone`})`);
      try {
        unlinkSync(path);
      } catch {
        // Another run took it over first: the next attempt sees its lock.
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
    } finally {
      closeSync(fd);
    }
    let held = true;
    return {
      path,
      release() {
        if (!held) return;
        held = false;
        // Only our own lock: never one a later run took over.
        if (readOwner(path)?.pid === me.pid) unlinkSync(path);
      },
    };
  }
  throw new UsageError(`output ${output} is locked (lock file ${path}), and taking the stale lock over failed twice; another run is starting on it`);
}
