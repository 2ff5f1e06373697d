// veth: a virtual Ethernet cable. Two interfaces created together; a frame
// sent into one comes out of the other. With one end in a container's
// namespace (named eth0 there) and the other in the host's (vethXXXXXXX,
// usually enslaved to a bridge), the container is wired to the host.
//
//   ip link add vethab12 master br0 up type veth peer name eth0 netns web
//   ip link add vethab12 group 7 master br0 up type veth ...   (an interface group: what `nft ... meta iifgroup 7` matches)
//   ip -n web link show eth0          -> eth0@if7: the peer's index is in the host
//   ip link show type veth            -> vethab12@if2
//
// The peer is created directly inside its namespace (IFLA_NET_NS_FD inside
// VETH_INFO_PEER, one RTM_NEWLINK; see native/rtnl_link.cc for the bytes).
// Creating it in the host and moving it afterwards costs ~36x more here.
//
// Man pages: veth(4), ip-link(8).
import { native } from '../native.js';
import { attempt } from './errors.js';
import { checkIfName, indexOf, ipNs, nameOf, type Link, type LinkRef } from './link.js';
import type { Netns } from './netns.js';

export interface VethOptions {
  /** Name of this end, in `ns`. */
  name: string;
  peer: {
    name: string;
    /** Where the peer is born; default: `ns`. */
    netns?: Netns;
    address?: string;
    mtu?: number;
  };
  /** Bridge to enslave this end to. */
  master?: LinkRef;
  up?: boolean;
  mtu?: number;
  address?: string;
  /** This end's interface group (IFLA_GROUP), what nft's `meta iifgroup` matches. */
  group?: number;
  for?: string;
}

export interface Veth {
  /** This end, as the kernel reports it after creation. */
  link: Link;
  /** The peer's ifindex, in the peer's namespace. */
  peerIndex: number;
}

/** VethOptions with links and namespaces by name: what `ip link add` shows. */
export interface VethText {
  name: string;
  peer: { name: string; netns?: string; address?: string; mtu?: number };
  master?: string;
  up?: boolean;
  mtu?: number;
  address?: string;
  group?: number;
}

/** The `ip link add ... type veth peer ...` command that vethAdd's request amounts to. */
export function vethAddCommand(ns: string | undefined, o: VethText): string {
  const opts = [o.mtu && `mtu ${o.mtu}`, o.address && `address ${o.address}`, o.group && `group ${o.group}`, o.master !== undefined && `master ${o.master}`, o.up && 'up']
    .filter(Boolean).join(' ');
  const peerOpts = [o.peer.netns && `netns ${o.peer.netns}`, o.peer.address && `address ${o.peer.address}`, o.peer.mtu && `mtu ${o.peer.mtu}`]
    .filter(Boolean).join(' ');
  return `ip ${ipNs(ns)}link add ${o.name}${opts ? ` ${opts}` : ''} type veth peer name ${o.peer.name}${peerOpts ? ` ${peerOpts}` : ''}`;
}

/**
 * Creates a veth pair, the peer directly in its own namespace.
 * Equivalent to: `ip link add NAME [master BR] [up] type veth peer name PEER [netns NS]`
 */
export async function vethAdd(ns: Netns, o: VethOptions): Promise<Veth> {
  checkIfName(o.name);
  checkIfName(o.peer.name);
  const peerNs = o.peer.netns && !o.peer.netns.sameAs(ns) ? o.peer.netns : undefined;
  const fd = await ns.rtnl();
  const where = peerNs ? ` (peer ${o.peer.name} in ${peerNs})` : ` (peer ${o.peer.name})`;
  const link = await attempt(
    `creating veth ${o.name}${where}`,
    vethAddCommand(ns.name, {
      ...o, master: o.master === undefined ? undefined : nameOf(o.master),
      peer: { ...o.peer, netns: peerNs && (peerNs.name ?? peerNs.path) },
    } as VethText),
    () => native().linkAdd(fd, {
      name: o.name,
      kind: 'veth',
      ...(o.mtu !== undefined && { mtu: o.mtu }),
      ...(o.address !== undefined && { address: o.address }),
      ...(o.group !== undefined && { group: o.group }),
      ...(o.master !== undefined && { master: indexOf(o.master) }),
      ...(o.up !== undefined && { up: o.up }),
      peer: {
        name: o.peer.name,
        ...(peerNs && { netnsFd: peerNs.fd }),
        ...(o.peer.address !== undefined && { address: o.peer.address }),
        ...(o.peer.mtu !== undefined && { mtu: o.peer.mtu }),
      },
    }),
    o.for,
  );
  if (!link || link.link === undefined) throw new Error(`creating veth ${o.name}: the kernel did not report the new link`);
  return { link, peerIndex: link.link };
}
