// Links (network interfaces) in a namespace: list, look up, change, delete.
// The kinds that nsnet creates have their own files: veth.ts, bridge.ts.
//
//   ip -n NS link show                     linkList(ns)
//   ip -n NS link set dev X up             linkSet(ns, x, {up: true})
//   ip -n NS link set dev X master BR      linkSet(ns, x, {master: br})
//   ip -n NS link del dev X                linkDel(ns, x)
//
// Links are named by ifindex after the first lookup (ifindexes are per
// namespace): there are no hidden by-name lookups on the hot path.
//
// Man pages: ip-link(8), rtnetlink(7), netdevice(7).
import { native, type NativeLink } from '../native.js';
import { attempt, invalid } from './errors.js';
import type { Netns } from './netns.js';

export type Link = NativeLink;

/** A link by index, optionally with its name for messages. */
export type LinkRef = number | { index: number; name?: string };

const IFNAMSIZ = 16;

/** Interface names: at most 15 bytes, no '/', ':' or whitespace (dev_valid_name in the kernel). */
export function checkIfName(name: string): void {
  if (!name || Buffer.byteLength(name) >= IFNAMSIZ || name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw invalid(`invalid interface name "${name}": 1 to ${IFNAMSIZ - 1} characters, no '/', ':' or spaces`);
  }
}

export function indexOf(l: LinkRef): number {
  return typeof l === 'number' ? l : l.index;
}

export function nameOf(l: LinkRef): string {
  return typeof l === 'number' ? `if${l}` : l.name ?? `if${l.index}`;
}

/**
 * Every link in the namespace.
 * Equivalent to: `ip -n NS link show`
 */
export async function linkList(ns: Netns): Promise<Link[]> {
  const fd = await ns.rtnl();
  return attempt(`listing links in ${ns}`, `ip ${ns.ipFlag}link show`, () => native().linkList(fd));
}

/**
 * One link, by name or index; rejects with ENODEV if there is none.
 * Equivalent to: `ip -n NS link show dev NAME`
 */
export async function linkGet(ns: Netns, ref: string | number): Promise<Link> {
  const fd = await ns.rtnl();
  const q = typeof ref === 'string' ? { name: ref } : { index: ref };
  if (typeof ref === 'string') checkIfName(ref);
  const label = typeof ref === 'string' ? ref : `if${ref}`;
  return attempt(`looking up link ${label} in ${ns}`, `ip ${ns.ipFlag}link show dev ${label}`, () => native().linkGet(fd, q));
}

export interface LinkChanges {
  up?: boolean;
  /** A bridge to enslave to, or null for nomaster. */
  master?: LinkRef | null;
  mtu?: number;
  address?: string;
  /** Rename. */
  name?: string;
  /** Move to another namespace (slow: ~18 ms here; prefer creating links in place). */
  netns?: Netns;
  txqlen?: number;
  /** Names the user-level object this is for, in errors ("sandbox web"). */
  for?: string;
}

/** `-n NAME ` for `ip` commands in a named namespace; "" for the host's (undefined). */
export const ipNs = (ns: string | undefined): string => (ns ? `-n ${ns} ` : '');

/** LinkChanges with links and namespaces by name: what `ip link set` shows. */
export type LinkChangesText = Omit<LinkChanges, 'master' | 'netns' | 'for'> & { master?: string | null; netns?: string };

function describeChanges(c: LinkChangesText): string {
  const parts: string[] = [];
  if (c.up !== undefined) parts.push(c.up ? 'up' : 'down');
  if (c.master !== undefined) parts.push(c.master === null ? 'nomaster' : `master ${c.master}`);
  if (c.mtu !== undefined) parts.push(`mtu ${c.mtu}`);
  if (c.address !== undefined) parts.push(`address ${c.address}`);
  if (c.name !== undefined) parts.push(`name ${c.name}`);
  if (c.txqlen !== undefined) parts.push(`txqueuelen ${c.txqlen}`);
  if (c.netns !== undefined) parts.push(`netns ${c.netns}`);
  return parts.join(' ');
}

/** The `ip link set` command that linkSet's request amounts to. */
export function linkSetCommand(ns: string | undefined, dev: string, c: LinkChangesText): string {
  return `ip ${ipNs(ns)}link set dev ${dev} ${describeChanges(c)}`;
}

/** The `ip link del` command that linkDel's request amounts to. */
export function linkDelCommand(ns: string | undefined, dev: string): string {
  return `ip ${ipNs(ns)}link del dev ${dev}`;
}

/**
 * Changes a link in one request: up/down, master/nomaster, mtu, MAC address,
 * name, namespace.
 * Equivalent to: `ip -n NS link set dev X [up|down] [master BR|nomaster] [mtu N] [address MAC] [name NEW] [netns NS2]`
 */
export async function linkSet(ns: Netns, link: LinkRef, c: LinkChanges): Promise<void> {
  if (c.name !== undefined) checkIfName(c.name);
  const fd = await ns.rtnl();
  const { master, netns, for: _for, ...rest } = c;
  const text: LinkChangesText = { ...rest, ...(master !== undefined && { master: master === null ? null : nameOf(master) }),
    ...(netns !== undefined && { netns: netns.name ?? netns.path }) };
  await attempt(
    `setting ${describeChanges(text)} on link ${nameOf(link)} in ${ns}`,
    linkSetCommand(ns.name, nameOf(link), text),
    () => native().linkSet(fd, indexOf(link), {
      ...(c.up !== undefined && { up: c.up }),
      ...(c.master !== undefined && { master: c.master === null ? 0 : indexOf(c.master) }),
      ...(c.mtu !== undefined && { mtu: c.mtu }),
      ...(c.address !== undefined && { address: c.address }),
      ...(c.name !== undefined && { name: c.name }),
      ...(c.txqlen !== undefined && { txqlen: c.txqlen }),
      ...(c.netns !== undefined && { netnsFd: c.netns.fd }),
    }),
    c.for,
  );
}

/**
 * Deletes a link (for a veth, both ends go). Slow on this kind of VM (~17 ms,
 * an RCU grace period): to tear a sandbox down, delete its namespace instead.
 * Equivalent to: `ip -n NS link del dev X`
 */
export async function linkDel(ns: Netns, link: LinkRef, opts: { for?: string } = {}): Promise<void> {
  const fd = await ns.rtnl();
  await attempt(`deleting link ${nameOf(link)} in ${ns}`, linkDelCommand(ns.name, nameOf(link)),
    () => native().linkDel(fd, { index: indexOf(link) }), opts.for);
}
