// One DNS server per machine (per runDir): the server holds flock(2) on
// dns.lock while it runs, and says in it who runs it; dns.pid says "should
// run" (control.ts lists the files and reads them for the CLI's health check).
//
//   cat /run/nsnet/dns.lock        supervisor 1234
//   fuser /run/nsnet/dns.lock      the pid holding it
import { closeSync, fchmodSync, ftruncateSync, promises as fs, openSync, writeSync } from 'node:fs';
import type { StoreDirs } from '../state/store.js';
import { lockPath, pidPath, tryLock, type DnsManager } from './control.js';

/** Thrown when another server holds dns.lock; `code` is EBUSY (the CLI exits DNS_LOCK_BUSY_STATUS). */
export class DnsLockBusyError extends Error {
  readonly code = 'EBUSY';
  constructor(file: string) {
    super(`another nsnet DNS server is running (lock ${file})`);
  }
}

/**
 * Takes dns.lock (or adopts `lockFd`, taken already by a standby that waited
 * for it), writes who holds it and dns.pid. Returns the lock's fd: the lock
 * is held until releaseInstance closes it. Throws DnsLockBusyError if another
 * server holds it.
 */
export async function takeInstance(dirs: StoreDirs, manager: DnsManager, lockFd?: number): Promise<number> {
  await fs.mkdir(dirs.runDir, { recursive: true });
  let fd = lockFd;
  if (fd === undefined) {
    fd = openSync(lockPath(dirs), 'a', 0o600);
    // A CLI health check holds the lock for a few syscalls when it finds it free: try for a moment.
    let locked = false;
    for (let i = 0; i < 20 && !(locked = await tryLock(fd)); i++) await new Promise((res) => setTimeout(res, 10));
    if (!locked) {
      closeSync(fd);
      throw new DnsLockBusyError(lockPath(dirs));
    }
  }
  try {
    // Mode 0600 whatever the umask (and whatever an older file had); the content says who runs us.
    fchmodSync(fd, 0o600);
    ftruncateSync(fd, 0);
    writeSync(fd, `${manager} ${process.pid}\n`);
    // The pid file says "should run" from now on: a crash from here leaves it, a clean stop removes it.
    const pid = openSync(pidPath(dirs), 'w', 0o600);
    try {
      fchmodSync(pid, 0o600);
      writeSync(pid, `${process.pid}\n`);
    } finally {
      closeSync(pid);
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/** A clean stop: dns.pid removed, then the lock let go (in that order: see health.ts dnsHealth). */
export async function releaseInstance(dirs: StoreDirs, lockFd: number): Promise<void> {
  await fs.unlink(pidPath(dirs)).catch(() => {});
  closeSync(lockFd);
}
