// The DNS server's supervisor: what the CLI starts on demand
// (`nsnet dns --supervise`, detached). It keeps two servers (`nsnet dns`,
// NSNET_DNS_MANAGER=supervisor) as its children: one serving, and one on
// standby - loaded, and waiting for the serving one's lock (dns.lock). When
// the serving one dies (killed by any signal, or any exit but a clean stop),
// the kernel hands the lock to the standby at once, and it attaches to every
// sandbox and serves: sandboxes' 127.0.0.11 is back in the time an attach
// takes, not a Node start-up. The supervisor then starts a new standby.
//
//   nsnet dns (supervisor)      this process: no DNS code
//    \_ nsnet dns               serving (server.ts)
//    \_ nsnet dns (standby)     waiting for dns.lock (cli/dns.ts runServer)
//
// - A clean stop ends all: SIGTERM/SIGINT to the supervisor, or the serving
//   server stopping with status 0 (a `stop` on the control socket, SIGTERM
//   to it). A clean stop removes dns.pid before it lets go of the lock, and a
//   standby that finds no dns.pid when it gets the lock exits 0 instead of serving.
// - Crash loops are slowed down: new standbys are started after 0, 250 ms,
//   500 ms, ... up to 4 s; after RESTART_RESET_MS without a crash, at once again.
// - Killed itself, the supervisor leaves the server serving (its standby
//   sees its parent gone and exits); the next nsnet command starts a new
//   supervisor (health.ts reviveDns), whose standbys wait for the running
//   server's lock like any other.
// - One supervisor at a time: dns-supervisor.lock.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fchmodSync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import type { StoreDirs } from '../state/store.js';
import { lockPath, serverNodeArgs, supervisorLockPath, supervisorPidPath, tryLock } from './control.js';

export const RESTART_RESET_MS = 10_000;
export const RESTART_MAX_MS = 4_000;
/** Servers kept running: the serving one and a standby. */
export const CHILDREN = 2;

/** The wait before a new server after `failures` (0-based) crashes in a row: 0, 250, 500, 1000, 2000, 4000, 4000, ... ms. */
export function restartDelay(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(RESTART_MAX_MS, 250 * 2 ** (failures - 1));
}

export interface SuperviseOptions {
  dirs: StoreDirs;
  /** The server's command line after the node binary (`bin/nsnet.js [--root R] dns`). */
  argv: string[];
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** Runs until a clean stop; returns the exit status. */
export async function supervise(o: SuperviseOptions): Promise<number> {
  const log = (l: string) => o.log(`${new Date().toISOString()} supervisor: ${l}`);
  mkdirSync(o.dirs.runDir, { recursive: true });
  const lock = openSync(supervisorLockPath(o.dirs), 'a', 0o600);
  fchmodSync(lock, 0o600);
  if (!(await tryLock(lock))) {
    closeSync(lock); // another supervisor runs: it does the job
    return 0;
  }
  writeFile(supervisorPidPath(o.dirs), `${process.pid}\n`);

  const children = new Set<ChildProcess>();
  let stopping = false;
  let failures = 0;
  let lastCrash = 0;
  let pending: NodeJS.Timeout | undefined;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));

  const start = () => {
    pending = undefined;
    while (!stopping && children.size < CHILDREN) {
      const c = spawn(process.execPath, [...serverNodeArgs(process.execArgv, o.env.NODE_OPTIONS), ...o.argv], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...o.env, NSNET_DNS_MANAGER: 'supervisor' },
      });
      children.add(c);
      let exited = false;
      const onExit = (code: number | null, sig: NodeJS.Signals | null, error?: Error) => {
        if (exited) return;
        exited = true;
        children.delete(c);
        exit(c.pid, code, sig, error);
      };
      c.once('exit', (code, sig) => onExit(code, sig));
      c.once('error', (e) => onExit(null, null, e));
    }
  };

  const exit = (pid: number | undefined, code: number | null, sig: NodeJS.Signals | null, error?: Error) => {
    if (stopping) {
      if (!children.size) done();
      return;
    }
    if (code === 0) {
      log(`server (pid ${pid}) stopped cleanly; exiting`);
      stop();
      return;
    }
    const how = error ? `could not start: ${error.message}` : sig ? `killed by ${sig}` : `exited with status ${code}`;
    const now = Date.now();
    if (now - lastCrash >= RESTART_RESET_MS) failures = 0;
    lastCrash = now;
    const delay = restartDelay(failures++);
    log(`server (pid ${pid}) ${how}; restarting: a standby takes over, a new one starts${delay ? ` in ${delay} ms` : ''} (restart ${failures} in a row)`);
    if (!pending) pending = setTimeout(start, delay);
  };

  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearTimeout(pending);
    // The serving server (ours, or one we found running) stops cleanly; standbys exit at once.
    const ours = () => new Set([...children].map((c) => c.pid));
    void lockHolder(o.dirs).then((serving) => {
      const pids = ours();
      if (serving) pids.add(serving);
      for (const pid of pids) signal(pid, 'SIGTERM');
    }, () => {
      for (const pid of ours()) signal(pid, 'SIGTERM'); // the lock unreadable: our own children at least
    });
    setTimeout(() => {
      for (const c of children) c.kill('SIGKILL'); // one that hangs in its stop
    }, 5000).unref();
    if (!children.size) done();
  };
  const ignore = () => {};
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', ignore); // detached: no terminal to hang up on

  start();
  await finished;
  // The process is the caller's again (the CLI returns our status as its exit status).
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  process.off('SIGHUP', ignore);
  try {
    unlinkSync(supervisorPidPath(o.dirs));
  } catch {
    // gone already
  }
  closeSync(lock);
  return 0;
}

/** The pid of the server holding dns.lock, as the lock file says (`supervisor 1234`); none if nobody holds it. */
async function lockHolder(dirs: StoreDirs): Promise<number | undefined> {
  let fd: number;
  try {
    fd = openSync(lockPath(dirs), 'r');
  } catch {
    return undefined;
  }
  try {
    if (await tryLock(fd)) return undefined; // free (and ours until closed, a few syscalls)
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return Number(buf.toString('utf8', 0, n).trim().split(/\s+/)[1]) || undefined;
  } finally {
    closeSync(fd);
  }
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

function writeFile(file: string, text: string): void {
  const fd = openSync(file, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
