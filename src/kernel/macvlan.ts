// macvlan: a second (third, ...) Ethernet interface on one physical port,
// with a MAC address of its own. Frames for that MAC arriving on the parent
// (the "lower" device, e.g. ens4) are handed to the macvlan instead; frames
// it sends leave through the parent. Put in a sandbox's namespace, it makes
// the sandbox a machine of its own on the parent's LAN: no bridge, no NAT.
//
//   ip link add link ens4 name eth0 netns web address 02:42:c0:00:02:02 up type macvlan mode bridge
//   ip -n web -d link show eth0          -> eth0@if2 ... macvlan mode bridge
//   ip -d link show type macvlan         the ones in this namespace
//
// Modes (IFLA_MACVLAN_MODE), for traffic between macvlans of one parent:
//   bridge    delivered directly inside the kernel (Docker's default)
//   private   never delivered to each other, not even when the LAN switch sends it back
//   vepa      sent out to the LAN switch, which must send it back ("hairpin"/reflective relay)
//   passthru  the only macvlan of its parent, takes the parent over (one sandbox)
//   source    filtered by source MAC (not used by nsnet)
// Whatever the mode, the parent's own namespace (the host) cannot reach a
// macvlan through the parent: the parent hands frames from the host straight
// to the wire. A macvlan of the host's own on the same parent (a "shim") can.
//
// The link is created directly in its namespace (IFLA_NET_NS_FD in the one
// RTM_NEWLINK, as a veth peer): IFLA_LINK names the parent by its ifindex in
// the namespace of the socket the request goes through.
//
// Man pages: ip-link(8) (type macvlan); the kernel's drivers/net/macvlan.c.
import { native } from '../native.js';
import { attempt, invalid } from './errors.js';
import { checkIfName, indexOf, ipNs, nameOf, type Link, type LinkRef } from './link.js';
import type { Netns } from './netns.js';

/** IFLA_MACVLAN_MODE values (include/uapi/linux/if_link.h, enum macvlan_mode). */
export const MACVLAN_MODES = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;
export type MacvlanMode = keyof typeof MACVLAN_MODES;

/** IFLA_MACVLAN_MODE: attribute 1 inside IFLA_INFO_DATA. */
const IFLA_MACVLAN_MODE = 1;

export function isMacvlanMode(m: string): m is MacvlanMode {
  return Object.prototype.hasOwnProperty.call(MACVLAN_MODES, m);
}

export interface MacvlanOptions {
  /** Name of the new link (in `netns`, or in `ns`). */
  name: string;
  /** The lower device, in `ns` (the namespace the request is sent in). */
  parent: LinkRef;
  mode: MacvlanMode;
  /** Where the link is born; default: `ns`. */
  netns?: Netns;
  address?: string;
  mtu?: number;
  up?: boolean;
  for?: string;
}

/** MacvlanOptions with links and namespaces by name: what `ip link add` shows. */
export interface MacvlanText {
  name: string;
  parent: string;
  mode: MacvlanMode;
  netns?: string;
  address?: string;
  mtu?: number;
  up?: boolean;
}

/** The `ip link add link PARENT name NAME ... type macvlan mode MODE` command that macvlanAdd's request amounts to. */
export function macvlanAddCommand(ns: string | undefined, o: MacvlanText): string {
  const opts = [o.netns && `netns ${o.netns}`, o.address && `address ${o.address}`, o.mtu && `mtu ${o.mtu}`, o.up && 'up']
    .filter(Boolean).join(' ');
  return `ip ${ipNs(ns)}link add link ${o.parent} name ${o.name}${opts ? ` ${opts}` : ''} type macvlan mode ${o.mode}`;
}

/**
 * Creates a macvlan on `parent`, directly in `netns` when given. Returns the
 * new link as the kernel reports it, or null when it was born in another
 * namespace (look it up there by name).
 * Equivalent to: `ip link add link PARENT name NAME [netns NS] [address MAC] [up] type macvlan mode MODE`
 */
export async function macvlanAdd(ns: Netns, o: MacvlanOptions): Promise<Link | null> {
  checkIfName(o.name);
  if (!isMacvlanMode(o.mode)) throw invalid(`invalid macvlan mode "${String(o.mode)}": one of ${Object.keys(MACVLAN_MODES).join(', ')}`);
  const target = o.netns && !o.netns.sameAs(ns) ? o.netns : undefined;
  const fd = await ns.rtnl();
  const text: MacvlanText = {
    name: o.name, parent: nameOf(o.parent), mode: o.mode,
    ...(target && { netns: target.name ?? target.path }),
    ...(o.address !== undefined && { address: o.address }),
    ...(o.mtu !== undefined && { mtu: o.mtu }),
    ...(o.up !== undefined && { up: o.up }),
  };
  const where = target ? ` in ${target}` : '';
  return attempt(
    `creating macvlan ${o.name} on ${nameOf(o.parent)}${where}`,
    macvlanAddCommand(ns.name, text),
    () => native().linkAdd(fd, {
      name: o.name,
      kind: 'macvlan',
      link: indexOf(o.parent),
      data: [{ type: IFLA_MACVLAN_MODE, u32: MACVLAN_MODES[o.mode] }],
      ...(target && { netnsFd: target.fd }),
      ...(o.address !== undefined && { address: o.address }),
      ...(o.mtu !== undefined && { mtu: o.mtu }),
      ...(o.up !== undefined && { up: o.up }),
    }),
    o.for,
  );
}
