// Network namespaces: a private copy of the network stack (links, addresses,
// routes, nftables, sysctls, sockets). A container's network *is* one.
//
// nsnet names them the way iproute2 does, by bind-mounting the namespace onto
// /run/netns/NAME, so everything it makes is visible to the usual tools:
//
//   ip netns list                 the named namespaces
//   ip -n NAME link               what is inside one
//   ip netns exec NAME sh         a shell inside one
//   lsns -t net                   every namespace with a process in it
//
// A Netns handle owns an fd of the namespace (which keeps it alive) and, once
// asked for, an rtnetlink socket opened inside it. Close it when done. Two
// handles are the same namespace when (dev, ino) match, as `stat -L` shows.
//
// Man pages: network_namespaces(7), ip-netns(8), setns(2), unshare(2).
import { closeSync, fstatSync, openSync, promises as fs } from 'node:fs';
import { native, type NativeNetns } from '../native.js';
import { attempt, invalid } from './errors.js';

export const NETNS_RUN_DIR = '/run/netns';

export class Netns {
  /** The name under /run/netns, if the namespace has one. */
  readonly name: string | undefined;
  readonly path: string;
  readonly fd: number;
  readonly dev: number;
  readonly ino: number;
  #rtnl: Promise<number> | undefined;
  #closed = false;

  constructor(h: NativeNetns, name?: string) {
    this.name = name;
    this.path = h.path;
    this.fd = h.fd;
    this.dev = h.dev;
    this.ino = h.ino;
    if (h.rtnlFd !== undefined) this.#rtnl = Promise.resolve(h.rtnlFd);
  }

  /** "netns web", or the path for an unnamed one: used in error messages. */
  toString(): string {
    return this.name ? `netns ${this.name}` : `netns ${this.path}`;
  }

  /** `-n NAME` for equivalent commands ("" for the process's own namespace). */
  get ipFlag(): string {
    return this.name ? `-n ${this.name} ` : '';
  }

  /** Same namespace as `other`? */
  sameAs(other: Netns): boolean {
    return this.dev === other.dev && this.ino === other.ino;
  }

  /** The rtnetlink socket opened inside this namespace (opened once, on first use). */
  rtnl(): Promise<number> {
    if (this.#closed) return Promise.reject(invalid(`${this} is closed`));
    this.#rtnl ??= attempt(`opening rtnetlink in ${this}`, `ip ${this.ipFlag}monitor`, () => native().rtnlOpen(this.fd));
    // Don't cache a failure.
    this.#rtnl.catch(() => { this.#rtnl = undefined; });
    return this.#rtnl;
  }

  /** Closes the fds this handle holds. The namespace lives on while it is named or used. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const rtnl = this.#rtnl ? await this.#rtnl.catch(() => -1) : -1;
    if (rtnl >= 0) closeFd(rtnl);
    closeFd(this.fd);
  }
}

function closeFd(fd: number): void {
  // close(2) of a namespace fd or a netlink socket doesn't block: done at once,
  // not through the thread pool. An error can only mean it was already closed.
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** Interface and namespace names end up in paths and netlink strings: keep them plain. */
export function checkNetnsName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(name)) {
    throw invalid(`invalid namespace name "${name}": use letters, digits, '_', '.', '-'`);
  }
}

/** The commands that netnsAdd amounts to. */
export function netnsAddCommand(name: string, sysctls: Record<string, string> = {}): string[] {
  return [`ip netns add ${name}`, ...Object.entries(sysctls).map(([k, v]) => `ip netns exec ${name} sysctl -qw ${k}=${v}`)];
}

/** The command that netnsDel amounts to. */
export const netnsDelCommand = (name: string): string => `ip netns del ${name}`;

/**
 * Creates a named network namespace and returns a handle to it. `sysctls`
 * are set inside it as it is made, before any interface but lo exists
 * (net.ipv6.conf.default.* then holds for every interface created later).
 * Equivalent to: `ip netns add NAME; ip netns exec NAME sysctl -qw KEY=VALUE ...`
 */
export async function netnsAdd(name: string, opts: { for?: string; sysctls?: Record<string, string> } = {}): Promise<Netns> {
  checkNetnsName(name);
  const sysctls = Object.entries(opts.sysctls ?? {});
  const h = await attempt(`creating namespace ${name}`,
    netnsAddCommand(name, opts.sysctls).join('; '),
    () => native().netnsCreate({ name, rtnl: true, ...(sysctls.length > 0 && { sysctls }) }), opts.for);
  return new Netns(h, name);
}

/**
 * Removes a named namespace's name; the kernel tears the namespace down once
 * nothing else holds it (handles: close them too). Links whose peer lived there go with it.
 * Equivalent to: `ip netns del NAME`
 */
export async function netnsDel(ns: Netns | string, opts: { for?: string } = {}): Promise<void> {
  const name = typeof ns === 'string' ? ns : ns.name;
  if (!name) throw invalid(`${ns} has no name to delete`);
  checkNetnsName(name);
  if (typeof ns !== 'string') await ns.close();
  await attempt(`deleting namespace ${name}`, netnsDelCommand(name), () => native().netnsDelete({ name }), opts.for);
}

/**
 * Opens an existing namespace: by name (/run/netns/NAME), by path, or by the
 * pid of a process in it (/proc/PID/ns/net).
 * Equivalent to: `ip netns exec NAME ...`, `nsenter --net=/proc/PID/ns/net`
 */
export async function netnsOpen(ref: { name: string } | { path: string } | { pid: number }): Promise<Netns> {
  if ('name' in ref) {
    checkNetnsName(ref.name);
    const h = await attempt(`opening namespace ${ref.name}`, `ip netns exec ${ref.name}`, () => native().netnsOpen(ref));
    return new Netns(h, ref.name);
  }
  const label = 'path' in ref ? ref.path : `/proc/${ref.pid}/ns/net`;
  const h = await attempt(`opening namespace ${label}`, `nsenter --net=${label}`, () => native().netnsOpen(ref));
  return new Netns(h);
}

/**
 * Opens a named namespace without a trip through the addon: open(2) and
 * fstat(2) on the calling thread, microseconds. The file is not checked to be
 * a namespace here; the verb that uses the handle is (setns fails with EINVAL).
 * For hot paths that only pass the fd on (the DNS server's attach).
 */
export function netnsOpenNameSync(name: string): Netns {
  checkNetnsName(name);
  return netnsOpenPathSync(`${NETNS_RUN_DIR}/${name}`, name);
}

/** netnsOpenNameSync for a namespace given by path (/proc/PID/ns/net, a runtime's bind mount). */
export function netnsOpenPathSync(file: string, name?: string): Netns {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    return new Netns({ fd, dev: st.dev, ino: st.ino, path: file }, name);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The namespace this process runs in (its main thread's: Node threads never move). */
export function netnsSelf(): Promise<Netns> {
  return netnsOpen({ pid: process.pid });
}

/**
 * Names of the namespaces under /run/netns.
 * Equivalent to: `ip netns list`
 */
export async function netnsList(): Promise<string[]> {
  try {
    return (await fs.readdir(NETNS_RUN_DIR)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
