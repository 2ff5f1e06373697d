// Addresses on links. Adding 172.17.0.2/16 to eth0 also makes the kernel add
// the prefix route "172.17.0.0/16 dev eth0 proto kernel scope link".
//
//   ip -n web addr add 172.17.0.2/16 dev eth0
//   ip -n web -br addr
//
// Man pages: ip-address(8), rtnetlink(7).
import { native, type NativeAddr } from '../native.js';
import { parsePrefix } from '../net/ip.js';
import { attempt, invalid } from './errors.js';
import { indexOf, ipNs, nameOf, type LinkRef } from './link.js';
import type { Netns } from './netns.js';

export type Addr = NativeAddr;

function prefixOrThrow(cidr: string) {
  try {
    return parsePrefix(cidr);
  } catch (e) {
    throw invalid(`invalid address ${cidr}: ${(e as Error).message}`);
  }
}

/** The `ip addr add` command that addrAdd's request amounts to. */
export function addrAddCommand(ns: string | undefined, dev: string, cidr: string, o: { broadcast?: string; nodad?: boolean } = {}): string {
  return `ip ${ipNs(ns)}addr add ${cidr} dev ${dev}${o.broadcast ? ` broadcast ${o.broadcast}` : ''}${o.nodad ? ' nodad' : ''}`;
}

/** IFA_F_NODAD: an IPv6 address usable at once, without duplicate address detection (as Docker adds its own). */
const IFA_F_NODAD = 0x02;

/**
 * Adds an address ("10.0.0.2/24", "2001:db8::2/64") to a link.
 * Equivalent to: `ip -n NS addr add CIDR dev LINK [broadcast B] [nodad]`
 */
export async function addrAdd(ns: Netns, link: LinkRef, cidr: string,
  o: { broadcast?: string; nodad?: boolean; for?: string } = {}): Promise<void> {
  const p = prefixOrThrow(cidr);
  const fd = await ns.rtnl();
  await attempt(`adding address ${cidr} to ${nameOf(link)} in ${ns}`,
    addrAddCommand(ns.name, nameOf(link), cidr, o),
    () => native().addrAdd(fd, { index: indexOf(link), address: p.address, prefixlen: p.prefixlen,
      ...(o.broadcast && { broadcast: o.broadcast }), ...(o.nodad && { flags: IFA_F_NODAD }) }),
    o.for);
}

/**
 * Removes an address from a link.
 * Equivalent to: `ip -n NS addr del CIDR dev LINK`
 */
export async function addrDel(ns: Netns, link: LinkRef, cidr: string, o: { for?: string } = {}): Promise<void> {
  const p = prefixOrThrow(cidr);
  const fd = await ns.rtnl();
  await attempt(`removing address ${cidr} from ${nameOf(link)} in ${ns}`,
    `ip ${ns.ipFlag}addr del ${cidr} dev ${nameOf(link)}`,
    () => native().addrDel(fd, { index: indexOf(link), address: p.address, prefixlen: p.prefixlen }), o.for);
}

/**
 * Addresses in the namespace, optionally of one link or family.
 * Equivalent to: `ip -n NS [-4|-6] addr show [dev LINK]`
 */
export async function addrList(ns: Netns, o: { link?: LinkRef; family?: 4 | 6 } = {}): Promise<Addr[]> {
  const fd = await ns.rtnl();
  return attempt(`listing addresses in ${ns}`, `ip ${ns.ipFlag}addr show`,
    () => native().addrList(fd, {
      ...(o.link !== undefined && { index: indexOf(o.link) }),
      ...(o.family !== undefined && { family: o.family }),
    }));
}
