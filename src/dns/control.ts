// How the CLI talks to the long-lived DNS server: a unix socket at
// <runDir>/dns.sock, one JSON line each way. After any change to a sandbox on
// a user-defined network, the CLI asks the server to sync with the state and
// waits for its answer, so a name resolves the moment `nsnet create` returns.
// If no server answers, the CLI starts one first: `nsnet dns --supervise`,
// detached, a small supervisor (supervise.ts) that runs the server as its
// child and restarts it when it dies. (The health check every command runs
// first, reviveDns, is in health.ts.)
//
// The files, all mode 0600 in <runDir>:
//   dns.lock             flock(2) held by the running server (single instance);
//                        its content says who runs it (supervisor, systemd,
//                        foreground or in-process) and its pid: `supervisor 1234`
//   dns.pid              the server's pid: written as it takes the lock, removed
//                        by a clean stop before it lets go of it (a crash leaves it)
//   dns.sock             the control socket
//   dns.log              both processes' log, when started on demand
//   dns-supervisor.lock  flock(2) held by the supervisor; dns-supervisor.pid its pid
import { closeSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { native } from '../native.js';
import type { StoreDirs } from '../state/store.js';
import type { ForwardStats } from './forward.js';
import type { BatchStats } from './datagrams.js';

export const socketPath = (dirs: StoreDirs) => path.join(dirs.runDir, 'dns.sock');
export const pidPath = (dirs: StoreDirs) => path.join(dirs.runDir, 'dns.pid');
export const logPath = (dirs: StoreDirs) => path.join(dirs.runDir, 'dns.log');
export const lockPath = (dirs: StoreDirs) => path.join(dirs.runDir, 'dns.lock');
export const supervisorPidPath = (dirs: StoreDirs) => path.join(dirs.runDir, 'dns-supervisor.pid');
export const supervisorLockPath = (dirs: StoreDirs) => path.join(dirs.runDir, 'dns-supervisor.lock');

/** `nsnet dns` exits with this when another server holds dns.lock (the unit's RestartPreventExitStatus). */
export const DNS_LOCK_BUSY_STATUS = 75;

/** Who runs the server, as written in dns.lock (NSNET_DNS_MANAGER in the server's environment). */
export type DnsManager = 'supervisor' | 'systemd' | 'foreground' | 'in-process';

export interface ControlRequest {
  op: 'sync' | 'ping' | 'stop' | 'stats';
  /** For sync: the sandboxes that changed (their failures are the caller's). */
  ids?: string[];
  /** For sync: `ids` are being removed; let go of them without reading their records. */
  gone?: boolean;
}
export interface ControlReply {
  ok: boolean;
  error?: string;
  attached?: number;
  /** For stats: the forwarder's counters (forward.ts). */
  forwarder?: ForwardStats;
  /** For stats: the UDP batches' counters (datagrams.ts). */
  datagrams?: BatchStats;
  /** For stats: the server's memory, in bytes: process.memoryUsage() and V8's heap spaces (used / committed). */
  memory?: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; spaces: Record<string, { used: number; size: number }> };
}

/**
 * One request/reply on a connection of its own, made by the addon (a CLI call
 * doesn't load node:net for it); rejects with ENOENT/ECONNREFUSED when no
 * server is there.
 */
/** The shell command that sends what `request` sends (a plan's equivalent of asking the server). */
export function requestCommand(dirs: StoreDirs, req: ControlRequest): string {
  return `echo '${JSON.stringify(req)}' | socat - UNIX-CONNECT:${socketPath(dirs)}`;
}

export async function request(dirs: StoreDirs, req: ControlRequest, timeoutMs = 10_000): Promise<ControlReply> {
  let line: string;
  try {
    line = await native().unixRequest(socketPath(dirs), `${JSON.stringify(req)}\n`, { timeoutMs });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ETIMEDOUT') throw new Error(`the DNS server did not answer within ${timeoutMs} ms`);
    throw e;
  }
  return JSON.parse(line) as ControlReply;
}

/**
 * One request/reply on a connection kept open for the next request from this
 * process (per socket path): a library user creating sandboxes one after
 * another pays the connect and accept once. Requests take turns on it; the
 * socket never keeps the process alive. A connection the server closed (a
 * restart, an older server that answers once per connection) is replaced,
 * and the request sent again on the new one (every request is idempotent).
 */
export function requestKept(dirs: StoreDirs, req: ControlRequest, timeoutMs = 10_000): Promise<ControlReply> {
  const file = socketPath(dirs);
  let ch = channels.get(file);
  if (!ch) channels.set(file, (ch = new Channel(file)));
  return ch.send(req, timeoutMs);
}

const channels = new Map<string, Channel>();

class Channel {
  private sock: Socket | undefined;
  private turn: Promise<unknown> = Promise.resolve();
  private buf = '';
  private waiting: { resolve: (r: ControlReply) => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly file: string) {}

  send(req: ControlRequest, timeoutMs: number): Promise<ControlReply> {
    const mine = this.turn.then(() => this.exchange(req, timeoutMs, true));
    this.turn = mine.catch(() => {});
    return mine;
  }

  private async connect(): Promise<Socket> {
    const net = await import('node:net'); // only long-lived processes keep a connection
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(this.file);
      sock.once('connect', () => {
        sock.off('error', reject);
        sock.on('error', (e) => this.fail(sock, e));
        const closed = () => this.fail(sock, Object.assign(new Error('the DNS server closed the control connection'), { code: 'ECONNRESET' }));
        sock.on('end', closed);
        sock.on('close', closed);
        sock.on('data', (d) => this.onData(d));
        resolve(sock);
      });
      sock.once('error', reject);
    });
  }

  private onData(d: Buffer): void {
    this.buf += d;
    const nl = this.buf.indexOf('\n');
    if (nl < 0 || !this.waiting) return;
    const line = this.buf.slice(0, nl);
    this.buf = this.buf.slice(nl + 1);
    const w = this.waiting;
    this.waiting = undefined;
    try {
      w.resolve(JSON.parse(line) as ControlReply);
    } catch (e) {
      w.reject(e as Error);
    }
  }

  private fail(sock: Socket, e: Error): void {
    if (this.sock !== sock) return;
    this.sock = undefined;
    this.buf = '';
    sock.destroy();
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }

  private async exchange(req: ControlRequest, timeoutMs: number, retry: boolean): Promise<ControlReply> {
    const fresh = !this.sock;
    const sock = this.sock ?? (this.sock = await this.connect());
    sock.ref();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<ControlReply>((resolve, reject) => {
        this.waiting = { resolve, reject };
        timer = setTimeout(() => {
          this.fail(sock, new Error(`the DNS server did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        sock.write(`${JSON.stringify(req)}\n`);
      });
    } catch (e) {
      // A kept connection the server had closed meanwhile: once more, on a new one.
      if (!fresh && retry && (e as NodeJS.ErrnoException).code !== undefined) return this.exchange(req, timeoutMs, false);
      throw e;
    } finally {
      clearTimeout(timer);
      if (this.sock === sock) sock.unref();
    }
  }
}

const noServer = (e: unknown) => ['ENOENT', 'ECONNREFUSED'].includes((e as NodeJS.ErrnoException).code ?? '');

/** Tells a running DNS server that sandboxes are being removed (nothing to do if none runs). */
export function releaseDns(dirs: StoreDirs, ids: string[], o: { kept?: boolean } = {}): Promise<void> {
  return syncDns(dirs, { start: false, argv: [], env: {}, ids, gone: true, ...o });
}

/**
 * Tells the DNS server to sync with the state, starting it if needed.
 * `start: false` only notifies a server that is already running. `kept`
 * (the default) keeps the connection for this process's next request; a
 * one-shot CLI call says false and skips node:net altogether.
 */
export async function syncDns(dirs: StoreDirs, o: { start: boolean; argv: string[]; env: NodeJS.ProcessEnv; ids?: string[]; gone?: boolean; kept?: boolean }): Promise<void> {
  const req: ControlRequest = { op: 'sync', ...(o.ids && { ids: o.ids }), ...(o.gone && { gone: true }) };
  try {
    const r = o.kept === false ? await request(dirs, req) : await requestKept(dirs, req);
    if (!r.ok) throw new Error(`DNS server: ${r.error}`);
    return;
  } catch (e) {
    if (!noServer(e) || !o.start) {
      if (noServer(e)) return;
      throw e;
    }
  }
  await startSupervised(dirs, o.argv, o.env);
  // The server syncs as it starts; wait until it answers (startWait says how long).
  const started = Date.now();
  for (;;) {
    try {
      const r = await request(dirs, req);
      if (r.ok) return;
      throw new Error(`DNS server: ${r.error}`);
    } catch (e) {
      if (!noServer(e) || !(await startWait(dirs, started))) throw new Error(`starting the DNS server: ${(e as Error).message} (see ${logPath(dirs)})`);
      await sleep(20);
    }
  }
}

/** How long a command waits for a server it started: START_WAIT_MS, or up to START_WAIT_MAX_MS while its supervisor lives. */
export const START_WAIT_MS = 5_000;
export const START_WAIT_MAX_MS = 30_000;

/**
 * Whether a command that started the server (at `since`) should keep waiting for it to answer:
 * for START_WAIT_MS, and after that for as long as a supervisor lives (holds its lock: it is
 * starting the server, or restarting one that failed), up to START_WAIT_MAX_MS. A cold start is
 * two Node processes and an attach to every sandbox: on a loaded machine it took longer than 5 s,
 * and a command that gave up then went on without its sandbox's names (test/kernel/dns-host's
 * "a restarted server listens again" failed so, once, under load). A supervisor that is gone is
 * not waited for.
 */
export async function startWait(dirs: StoreDirs, since: number): Promise<boolean> {
  const waited = Date.now() - since;
  if (waited < START_WAIT_MS) return true;
  if (waited >= START_WAIT_MAX_MS) return false;
  return held(supervisorLockPath(dirs));
}

/**
 * V8 flags the DNS server runs with, however it is started (the supervisor and its servers,
 * the systemd unit, bench:dns), to keep its memory flat under load: measured with 1000
 * sandboxes attached and dnsperf's rounds (docs/bench/dns.md, Memory). V8 grows the young
 * generation to 64-128 MB when a program allocates fast (forwarded queries do), and keeps it:
 * 156 MB RSS without these, 93 MB with them, at the same queries/s within the noise.
 * - a young generation of at most 1 MB per semi-space (the server's live data is small: what
 *   survives is the attachments and queries in flight);
 * - V8's heuristics for size over speed (smaller heap growing steps, no eager code caching).
 * A flag already on the command line (or in NODE_OPTIONS) wins.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'] as const;

/** `execArgv` with SERVER_NODE_FLAGS added, but for flags it (or NODE_OPTIONS) already sets. */
export function serverNodeArgs(execArgv: readonly string[], nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  // V8 takes - and _ alike in a flag's name.
  const name = (a: string) => a.split('=')[0]!.replace(/_/g, '-');
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map(name));
  const set = (flag: string) => given.has(name(flag));
  return [...SERVER_NODE_FLAGS.filter((f) => !set(f)), ...execArgv];
}

export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/**
 * Starts `argv` (normally `nsnet dns --supervise`) detached, logging to
 * dns.log. The one process nsnet ever starts on the way to a sandbox, once
 * per boot (the first sandbox on a user-defined network) or after a crash,
 * not per sandbox; with the systemd unit the server is already running.
 */
export async function startSupervised(dirs: StoreDirs, argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  mkdirSync(dirs.runDir, { recursive: true });
  const log = openSync(logPath(dirs), 'a', 0o600);
  try {
    fchmodSync(log, 0o600); // an older file keeps the mode it was made with
    // Loaded only here: most calls find the server up.
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [...serverNodeArgs([], env.NODE_OPTIONS), ...argv], { detached: true, stdio: ['ignore', log, log], env });
    child.on('error', () => {}); // reported by the wait for its answer
    child.unref();
  } finally {
    closeSync(log);
  }
}

/**
 * Takes `fd`'s flock without waiting: true if taken, false if another
 * process holds it. A few syscalls, no thread.
 */
export function tryLock(fd: number): Promise<boolean> {
  return native().flock(fd, { mode: 'exclusive', try: true });
}

/** True if a process holds the flock of `file` (false if nobody does, or there is no such file). */
export async function held(file: string): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    return !(await tryLock(fd));
  } finally {
    closeSync(fd);
  }
}
