// Forwarding database (FDB) entries of a vxlan device: "frames for this MAC
// go to the host at this underlay address". One per remote sandbox on the
// overlay network, written from the cluster store (the device does not learn):
//
//   bridge fdb replace 02:42:0a:63:00:03 dev vxlan42 dst 198.51.100.3 self permanent
//   bridge fdb del 02:42:0a:63:00:03 dev vxlan42 dst 198.51.100.3 self
//   bridge fdb show dev vxlan42        -> 02:42:0a:63:00:03 dst 198.51.100.3 self permanent
//
// `self`: the entry goes to the vxlan device's own table (ndo_fdb_add), not
// to the table of the bridge it is a port of (`master`). A dump of the device
// shows both; fdbList returns both, marked.
//
// replace, not append (what `bridge fdb append` does): for a unicast MAC the
// kernel's append only adds a second remote to all-zeros/multicast entries
// and leaves an existing unicast entry's destination as it was
// (vxlan_fdb_update_existing). An address (and so its MAC, net/mac.ts) that
// moves to another host must move its entry too: replace does, and is
// idempotent for a store that is read again after a restart.
//
// Man pages: bridge(8) (fdb); the kernel's drivers/net/vxlan/vxlan_core.c.
import { native, type NativeNeigh } from '../native.js';
import { checkMac } from '../net/mac.js';
import { isIPv4 } from '../net/ip.js';
import { attempt, invalid } from './errors.js';
import { indexOf, nameOf, type LinkRef } from './link.js';
import { NTF, NUD } from './neigh.js';
import type { Netns } from './netns.js';

/** `-n NAME ` for `bridge` commands in a named namespace. */
const bridgeNs = (ns: string | undefined): string => (ns ? `-n ${ns} ` : '');

export interface FdbEntry {
  /** The remote sandbox's MAC. */
  mac: string;
  /** The remote host's underlay address. */
  dst: string;
}

export interface FdbRecord extends FdbEntry {
  /** The device's ifindex. */
  index: number;
  /** In the device's own table (vxlan: MAC -> remote). */
  self: boolean;
  /** In its bridge's table (the bridge learnt or was told the MAC is behind this port): the bridge's ifindex. */
  master?: number;
  permanent: boolean;
  state: number;
  flags: number;
}

export type FdbCreate = 'replace' | 'append' | 'add';

/** The `bridge fdb replace|append|add` command that fdbAdd's request amounts to. */
export function fdbAddCommand(ns: string | undefined, dev: string, e: FdbEntry, create: FdbCreate = 'replace'): string {
  return `bridge ${bridgeNs(ns)}fdb ${create} ${e.mac} dev ${dev} dst ${e.dst} self permanent`;
}

/** The `bridge fdb del` command that fdbDel's request amounts to. */
export function fdbDelCommand(ns: string | undefined, dev: string, e: FdbEntry): string {
  return `bridge ${bridgeNs(ns)}fdb del ${e.mac} dev ${dev} dst ${e.dst} self`;
}

/** The request fdbAdd/fdbDel send, as iproute2's fdb_modify builds it (pure). */
export function fdbRequest(dev: number, e: FdbEntry) {
  let mac: string;
  try {
    mac = checkMac(e.mac);
  } catch (err) {
    throw invalid(`invalid fdb entry MAC "${e.mac}": ${(err as Error).message}`);
  }
  if (!isIPv4(e.dst)) throw invalid(`invalid fdb entry destination "${e.dst}": the remote host's IPv4 underlay address`);
  // `permanent` sets NUD_PERMANENT on top of fdb_modify's default NUD_NOARP; `self` is NTF_SELF.
  return { family: 'bridge' as const, index: dev, lladdr: mac, dst: e.dst, state: NUD.noarp | NUD.permanent, flags: NTF.self };
}

/**
 * Adds (by default replaces) a MAC -> remote host entry in a vxlan device's table.
 * Equivalent to: `bridge fdb replace MAC dev DEV dst IP self permanent`
 */
export async function fdbAdd(ns: Netns, dev: LinkRef, e: FdbEntry, o: { create?: FdbCreate; for?: string } = {}): Promise<void> {
  const create = o.create ?? 'replace';
  const req = fdbRequest(indexOf(dev), e);
  const fd = await ns.rtnl();
  await attempt(`adding forwarding entry ${e.mac} -> ${e.dst} to ${nameOf(dev)} in ${ns}`,
    fdbAddCommand(ns.name, nameOf(dev), e, create),
    () => native().neighAdd(fd, { ...req, create: create === 'add' ? 'excl' : create }), o.for);
}

/**
 * Deletes one MAC -> remote host entry (that remote only, if the MAC has several).
 * Equivalent to: `bridge fdb del MAC dev DEV dst IP self`
 */
export async function fdbDel(ns: Netns, dev: LinkRef, e: FdbEntry, o: { for?: string } = {}): Promise<void> {
  const req = fdbRequest(indexOf(dev), e);
  const fd = await ns.rtnl();
  await attempt(`deleting forwarding entry ${e.mac} -> ${e.dst} from ${nameOf(dev)} in ${ns}`,
    fdbDelCommand(ns.name, nameOf(dev), e), () => native().neighDel(fd, req), o.for);
}

/** A dumped entry, named (pure). */
export function fdbRecord(n: NativeNeigh): FdbRecord {
  return {
    index: n.index, mac: n.lladdr ?? '', dst: n.dst ?? '',
    self: (n.flags & NTF.self) !== 0, ...(n.master !== undefined && { master: n.master }),
    permanent: (n.state & NUD.permanent) !== 0, state: n.state, flags: n.flags,
  };
}

/**
 * The forwarding entries of a device: its own (`self`) and its bridge's for
 * it as a port (`master`).
 * Equivalent to: `bridge fdb show dev DEV`
 */
export async function fdbList(ns: Netns, dev: LinkRef): Promise<FdbRecord[]> {
  const fd = await ns.rtnl();
  const list = await attempt(`listing forwarding entries of ${nameOf(dev)} in ${ns}`,
    `bridge ${bridgeNs(ns.name)}fdb show dev ${nameOf(dev)}`,
    () => native().neighList(fd, { family: 'bridge', index: indexOf(dev) }));
  return list.map(fdbRecord);
}

/** The `bridge fdb replace ... master static` command that fdbPin's request amounts to. */
export function fdbPinCommand(ns: string | undefined, port: string, mac: string): string {
  return `bridge ${bridgeNs(ns)}fdb replace ${mac} dev ${port} master static`;
}

/**
 * Tells a bridge that `mac` is behind its port `port`, replacing what it may
 * have learnt (a MAC that was behind another port, say the vxlan device's,
 * until its address moved to this host): a static entry of the bridge's own
 * table (`master`, NUD_NOARP; `permanent` would make it an address of the
 * bridge itself). It goes with the port.
 * Equivalent to: `bridge fdb replace MAC dev PORT master static`
 */
export async function fdbPin(ns: Netns, port: LinkRef, mac: string, o: { for?: string } = {}): Promise<void> {
  let lladdr: string;
  try {
    lladdr = checkMac(mac);
  } catch (err) {
    throw invalid(`invalid fdb entry MAC "${mac}": ${(err as Error).message}`);
  }
  const fd = await ns.rtnl();
  await attempt(`pinning ${mac} to bridge port ${nameOf(port)} in ${ns}`, fdbPinCommand(ns.name, nameOf(port), mac),
    () => native().neighAdd(fd, { family: 'bridge', index: indexOf(port), lladdr, state: NUD.noarp, flags: NTF.master, create: 'replace' }), o.for);
}
