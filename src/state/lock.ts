// An advisory lock around read-modify-write of nsnet's state: two CLI calls
// at once take turns, so they never hand out the same address or name.
//
// flock(2) locks belong to the open file, so the kernel drops the lock when
// the process dies, however it dies: a crashed call can't wedge the store.
// A free lock is taken at once (a non-blocking flock on the JS thread);
// waiting for a held one happens on a libuv pool thread (the addon's flock
// verb), never on the event loop.
//
//   flock /run/nsnet/lock -c 'cat /var/lib/nsnet/...'   takes the same lock from a shell
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { native } from '../native.js';
import { attempt } from '../kernel/errors.js';

function openLockFile(file: string): number {
  try {
    return openSync(file, 'a', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(path.dirname(file), { recursive: true });
    return openSync(file, 'a', 0o600);
  }
}

/**
 * Callers in this process take turns before they flock: a flock that waits
 * holds a libuv pool thread (4 by default) until the lock is free, so a few
 * concurrent callers in one process (a runtime calling the library, the CNI
 * backend's parallel ADDs) would occupy every pool thread while the holder
 * needs one for its own file and netlink work: a deadlock. One waiter per
 * lock file per process at most.
 */
const turns = new Map<string, Promise<void>>();

async function inTurn<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const before = turns.get(file);
  let done!: () => void;
  const mine = new Promise<void>((resolve) => { done = resolve; });
  const tail = before ? before.then(() => mine) : mine;
  turns.set(file, tail);
  try {
    await before;
    return await fn();
  } finally {
    done();
    if (turns.get(file) === tail) turns.delete(file);
  }
}

/** Runs `fn` while holding an exclusive lock on `file` (created if missing). */
export function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  return inTurn(file, () => flocked(file, fn));
}

async function flocked<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const fd = openLockFile(file);
  try {
    const free = await attempt(`locking ${file}`, `flock -n ${file}`, () => native().flock(fd, { mode: 'exclusive', wait: false })
      .then(() => true, (e: unknown) => ((e as NodeJS.ErrnoException).code === 'EAGAIN' ? false : Promise.reject(e))));
    if (!free) await attempt(`locking ${file}`, `flock ${file}`, () => native().flock(fd, { mode: 'exclusive' }));
    return await fn();
  } finally {
    closeSync(fd); // releases the lock
  }
}

/** Like withLock, but fails with EAGAIN (EWOULDBLOCK) at once if someone else holds it. */
export async function tryLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const fd = openLockFile(file);
  try {
    await attempt(`locking ${file}`, `flock -n ${file}`, () => native().flock(fd, { mode: 'exclusive', wait: false }));
    return await fn();
  } finally {
    closeSync(fd);
  }
}
