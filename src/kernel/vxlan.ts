// vxlan: an Ethernet segment carried in UDP between hosts (RFC 7348). A frame
// sent into the vxlan device is wrapped in UDP (port 4789) with an 8-byte
// header naming its segment (the VNI, 24 bits) and sent to the underlay
// address its destination MAC maps to in the device's own forwarding table
// (fdb.ts); the host at that address unwraps it and hands the frame to its
// vxlan device of the same VNI. Enslaved to a bridge, it joins that bridge's
// sandboxes to the same bridge on other hosts: Docker's overlay network.
//
//   ip link add vxlan42 mtu 1450 master ov-0123456789ab up type vxlan id 42 dstport 4789 \
//      local 198.51.100.1 dev eth0 nolearning proxy
//   ip -d link show vxlan42          -> vxlan id 42 local 198.51.100.1 dev eth0 srcport 0 0 dstport 4789 proxy nolearning
//
// Options nsnet uses (IFLA_VXLAN_*, iproute2 ip/iplink_vxlan.c):
//   id        the VNI; one per overlay network
//   dstport   4789 (IANA); without it the kernel uses 8472, Linux's pre-IANA port
//   local     the source address of the outer packets: this host's underlay address
//   dev       the underlay device (IFLA_VXLAN_LINK)
//   nolearning  no MAC -> remote learnt from incoming packets: the entries come
//             from the cluster store, so a spoofed packet cannot redirect traffic
//   proxy     the device answers ARP requests itself from its neighbour table
//             (neigh.ts), so ARP broadcasts never cross the underlay
// With no `remote`/`group` and no all-zeros fdb entry, a frame whose MAC has
// no entry is dropped: nothing is ever flooded to every host.
//
// The outer headers cost 50 bytes (IPv4 20 + UDP 8 + VXLAN 8 + inner
// Ethernet 14): the vxlan device, its bridge and the sandboxes' interfaces
// get MTU = underlay MTU - 50, or large frames would be dropped silently.
//
// Man pages: ip-link(8) (type vxlan); the kernel's Documentation/networking/vxlan.rst.
import { native, type NativeLinkData, type NativeVxlanInfo } from '../native.js';
import { isIPv4 } from '../net/ip.js';
import { attempt, invalid } from './errors.js';
import { checkIfName, indexOf, ipNs, nameOf, type Link, type LinkRef } from './link.js';
import type { Netns } from './netns.js';

/** The IANA VXLAN port. */
export const VXLAN_PORT = 4789;
/** Outer IPv4 + UDP + VXLAN headers and the inner Ethernet header. */
export const VXLAN_OVERHEAD = 50;
/** VNIs are 24 bits; 0 is valid for the kernel but Docker starts at 4096, nsnet at 1. */
export const VNI_MAX = 0xffffff;

/** IFLA_VXLAN_* attributes inside IFLA_INFO_DATA (include/uapi/linux/if_link.h). */
const IFLA_VXLAN = { ID: 1, LINK: 3, LOCAL: 4, LEARNING: 7, PROXY: 11, PORT: 15 } as const;

/** The device for a VNI: `vxlan<VNI>` (at most 13 characters). */
export const vxlanName = (vni: number): string => `vxlan${vni}`;

/** The MTU of an overlay on an underlay of `underlayMtu`. */
export const overlayMtu = (underlayMtu: number): number => underlayMtu - VXLAN_OVERHEAD;

export function checkVni(vni: number): void {
  if (!Number.isInteger(vni) || vni < 1 || vni > VNI_MAX) throw invalid(`invalid VNI ${vni}: 1 to ${VNI_MAX}`);
}

export interface VxlanOptions {
  name: string;
  vni: number;
  /** This host's underlay address (IPv4): the outer source address. */
  local: string;
  /** The underlay device. */
  dev: LinkRef;
  /** Default 4789. */
  port?: number;
  /** Default false: entries come from the store. */
  learning?: boolean;
  /** Answer ARP from the neighbour table (default true). */
  proxy?: boolean;
  mtu?: number;
  master?: LinkRef;
  up?: boolean;
  for?: string;
}

/** VxlanOptions with links by name: what `ip link add` shows. */
export type VxlanText = Omit<VxlanOptions, 'dev' | 'master' | 'for'> & { dev: string; master?: string };

/** The `ip link add ... type vxlan ...` command that vxlanAdd's request amounts to. */
export function vxlanAddCommand(ns: string | undefined, o: VxlanText): string {
  const opts = [o.mtu && `mtu ${o.mtu}`, o.master !== undefined && `master ${o.master}`, o.up && 'up'].filter(Boolean).join(' ');
  const learning = o.learning ?? false;
  const proxy = o.proxy ?? true;
  return `ip ${ipNs(ns)}link add ${o.name}${opts ? ` ${opts}` : ''} type vxlan id ${o.vni} dstport ${o.port ?? VXLAN_PORT}`
    + ` local ${o.local} dev ${o.dev} ${learning ? 'learning' : 'nolearning'}${proxy ? ' proxy' : ''}`;
}

/** The IFLA_INFO_DATA of a vxlan, as iproute2 sends it (pure). */
export function vxlanData(o: { vni: number; local: string; dev: number; port?: number; learning?: boolean; proxy?: boolean }): NativeLinkData[] {
  checkVni(o.vni);
  // An IPv4 underlay only (IFLA_VXLAN_LOCAL; LOCAL6 is not used).
  if (!isIPv4(o.local)) throw invalid(`invalid vxlan local address "${o.local}": an IPv4 address of this host on the underlay`);
  const port = o.port ?? VXLAN_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`invalid VXLAN port ${port}`);
  return [
    { type: IFLA_VXLAN.ID, u32: o.vni },
    { type: IFLA_VXLAN.LINK, u32: o.dev },
    { type: IFLA_VXLAN.LOCAL, ip: o.local },
    { type: IFLA_VXLAN.LEARNING, u8: o.learning ? 1 : 0 },
    { type: IFLA_VXLAN.PROXY, u8: (o.proxy ?? true) ? 1 : 0 },
    { type: IFLA_VXLAN.PORT, be16: port },
  ];
}

/**
 * Creates a vxlan device, enslaved to `master` and up if asked, in one request.
 * Equivalent to: `ip link add NAME [mtu N] [master BR] [up] type vxlan id VNI dstport 4789 local IP dev DEV nolearning proxy`
 */
export async function vxlanAdd(ns: Netns, o: VxlanOptions): Promise<Link> {
  checkIfName(o.name);
  const data = vxlanData({ ...o, dev: indexOf(o.dev) });
  const fd = await ns.rtnl();
  const { dev, master, for: forWhom, ...rest } = o;
  const text: VxlanText = { ...rest, dev: nameOf(dev), ...(master !== undefined && { master: nameOf(master) }) };
  const link = await attempt(
    `creating vxlan ${o.name} (VNI ${o.vni}, local ${o.local} on ${nameOf(dev)}) in ${ns}`,
    vxlanAddCommand(ns.name, text),
    () => native().linkAdd(fd, {
      name: o.name,
      kind: 'vxlan',
      data,
      ...(o.mtu !== undefined && { mtu: o.mtu }),
      ...(master !== undefined && { master: indexOf(master) }),
      ...(o.up !== undefined && { up: o.up }),
    }),
    forWhom,
  );
  if (!link) throw new Error(`creating vxlan ${o.name}: the kernel did not report the new link`);
  return link;
}

/**
 * How an existing link differs from the vxlan `want` describes (empty: it
 * matches). For CHECK and reconcile: a leftover device of the same name with
 * another VNI or local address must not be taken for ours. Pure.
 */
export function vxlanDiff(link: Pick<Link, 'kind' | 'mtu' | 'master'> & { vxlan?: NativeVxlanInfo },
  want: { vni: number; local: string; dev: number; port?: number; mtu?: number; master?: number }): string[] {
  if (link.kind !== 'vxlan' || !link.vxlan) return [`is a ${link.kind ?? 'link of no kind'}, not a vxlan`];
  const v = link.vxlan;
  const out: string[] = [];
  const differs = (what: string, have: unknown, should: unknown) => {
    if (have !== should) out.push(`${what} ${String(have ?? 'none')}, not ${String(should)}`);
  };
  differs('VNI', v.id, want.vni);
  differs('dstport', v.port, want.port ?? VXLAN_PORT);
  differs('local', v.local, want.local);
  differs('dev', v.link, want.dev);
  if (v.learning) out.push('learning on, not off');
  if (!v.proxy) out.push('proxy off, not on');
  if (want.mtu !== undefined) differs('mtu', link.mtu, want.mtu);
  if (want.master !== undefined) differs('master', link.master, want.master);
  return out;
}
