// The DNS server's health, cheaply, and bringing it back: every nsnet command
// runs reviveDns before its own work. A server that holds dns.lock is running;
// one that doesn't but left dns.pid behind died without a clean stop (the
// files: control.ts).
//
//   cat /run/nsnet/dns.lock     who runs it: `supervisor 1234`
//   nsnet dns --install-unit    systemd restarts it instead (unit.ts)
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import type { StoreDirs } from '../state/store.js';
import { held, lockPath, logPath, pidPath, request, sleep, startSupervised, startWait, supervisorLockPath, tryLock } from './control.js';

/** What the lock file says about the server that holds (or held) it. */
function readManager(fd: number): string {
  const buf = Buffer.alloc(32);
  const n = readSync(fd, buf, 0, buf.length, 0);
  return buf.toString('utf8', 0, n).trim().split(/\s+/)[0] ?? '';
}

export type DnsHealth =
  | { state: 'none' } // never started, or stopped cleanly
  | { state: 'up'; manager: string; supervised: boolean }
  | { state: 'down'; manager: string; supervised: boolean }; // gone while it should run

/**
 * The server's health from its lock, cheaply: a server that holds dns.lock
 * is running; one that doesn't but left dns.pid behind died without a clean
 * stop. The supervisor's lock is probed only for a supervisor-run server.
 */
export async function dnsHealth(dirs: StoreDirs): Promise<DnsHealth> {
  let fd: number;
  try {
    fd = openSync(lockPath(dirs), 'r');
  } catch {
    return { state: 'none' };
  }
  try {
    const up = !(await tryLock(fd));
    // Dead and no pid file: stopped cleanly. (If the lock was free we hold it
    // for these few syscalls; a server starting meanwhile retries.)
    if (!up && !existsSync(pidPath(dirs))) return { state: 'none' };
    const manager = readManager(fd);
    const supervised = manager === 'supervisor' && (await held(supervisorLockPath(dirs)));
    return { state: up ? 'up' : 'down', manager, supervised };
  } finally {
    closeSync(fd);
  }
}

/** Waits until the server answers a ping, for as long as `more()` says; false if it doesn't. */
async function waitUp(dirs: StoreDirs, more: () => Promise<boolean>): Promise<boolean> {
  for (;;) {
    try {
      if ((await request(dirs, { op: 'ping' }, 1000)).ok) return true;
    } catch {
      // not yet
    }
    if (!(await more())) return false;
    await sleep(20);
  }
}

/**
 * Run by every nsnet command before its own work: brings back a DNS server
 * that should run but is gone (killed, crashed, OOM), and its supervisor if
 * only that is gone. Healthy, it costs a few syscalls (no spawn, no node:net).
 * `argv` starts the supervisor (`nsnet dns --supervise`). Never throws: a
 * command that can't revive the server still does its own work, with a warning.
 */
export async function reviveDns(dirs: StoreDirs, o: { argv: string[]; env: NodeJS.ProcessEnv; warn?: (m: string) => void }): Promise<void> {
  try {
    const h = await dnsHealth(dirs);
    if (h.state === 'none') return;
    if (h.state === 'up') {
      // The server serves; only its supervisor is gone: a new one watches it (no wait).
      if (h.manager === 'supervisor' && !h.supervised) await startSupervised(dirs, o.argv, o.env);
      return;
    }
    // systemd restarts its own server within RestartSec: give it the chance first.
    const since = Date.now();
    if (h.manager === 'systemd' && (await waitUp(dirs, async () => Date.now() - since < 3000))) return;
    // A live supervisor is restarting it already (and a server that can't start is its to retry,
    // not every command's to wait for); otherwise start one, and wait for its server.
    if (h.supervised) return;
    await startSupervised(dirs, o.argv, o.env);
    const started = Date.now();
    if (!(await waitUp(dirs, () => startWait(dirs, started)))) o.warn?.(`the DNS server is down and did not come back (see ${logPath(dirs)})`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return; // not root: the command itself will say so
    o.warn?.(`restarting the DNS server: ${(e as Error).message}`);
  }
}
