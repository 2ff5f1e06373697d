// Neighbour (ARP) entries: "this IP is at this MAC", on one device. On an
// overlay's vxlan device, one per remote sandbox, permanent: with `proxy` on
// (vxlan.ts) the device answers a local sandbox's ARP request from these
// entries itself, so no ARP broadcast crosses the underlay (Docker's overlay
// does the same).
//
//   ip neigh replace 10.99.0.3 lladdr 02:42:0a:63:00:03 dev vxlan42 nud permanent
//   ip neigh del 10.99.0.3 dev vxlan42
//   ip neigh show dev vxlan42          -> 10.99.0.3 lladdr 02:42:0a:63:00:03 PERMANENT
//
// replace (NLM_F_CREATE|NLM_F_REPLACE) is idempotent: the same entry written
// again after a restart is not an error, and a changed MAC is overwritten.
//
// Man pages: ip-neighbour(8), arp(7), rtnetlink(7) (RTM_NEWNEIGH).
import { native, type NativeNeigh } from '../native.js';
import { isIP } from '../net/ip.js';
import { checkMac } from '../net/mac.js';
import { attempt, invalid } from './errors.js';
import { indexOf, ipNs, nameOf, type LinkRef } from './link.js';
import type { Netns } from './netns.js';

/** ndm_state bits (include/uapi/linux/neighbour.h). */
export const NUD = { incomplete: 0x01, reachable: 0x02, stale: 0x04, delay: 0x08, probe: 0x10, failed: 0x20, noarp: 0x40, permanent: 0x80 } as const;
/** ndm_flags bits. */
export const NTF = { use: 0x01, self: 0x02, master: 0x04, proxy: 0x08, extLearned: 0x10, offloaded: 0x20, sticky: 0x40, router: 0x80 } as const;

export interface NeighEntry {
  ip: string;
  mac: string;
}

export interface NeighRecord extends NeighEntry {
  index: number;
  family: 4 | 6;
  /** `ip neigh` words: PERMANENT, REACHABLE, STALE, ... */
  state: string[];
  flags: number;
}

/** The `ip neigh replace` command that neighReplace's request amounts to. */
export function neighReplaceCommand(ns: string | undefined, dev: string, e: NeighEntry): string {
  return `ip ${ipNs(ns)}neigh replace ${e.ip} lladdr ${e.mac} dev ${dev} nud permanent`;
}

/** The `ip neigh del` command that neighDel's request amounts to. */
export function neighDelCommand(ns: string | undefined, dev: string, ip: string): string {
  return `ip ${ipNs(ns)}neigh del ${ip} dev ${dev}`;
}

/** NUD_* bits as `ip neigh` prints them (pure). */
export function nudNames(state: number): string[] {
  return Object.entries(NUD).filter(([, bit]) => state & bit).map(([name]) => name.toUpperCase());
}

function family(ip: string): 4 | 6 {
  const f = isIP(ip);
  if (!f) throw invalid(`invalid neighbour address "${ip}"`);
  return f;
}

/** The request neighReplace sends, as iproute2's ipneigh_modify builds it (pure). */
export function neighRequest(dev: number, e: NeighEntry) {
  let mac: string;
  try {
    mac = checkMac(e.mac);
  } catch (err) {
    throw invalid(`invalid neighbour MAC "${e.mac}": ${(err as Error).message}`);
  }
  return { family: family(e.ip), index: dev, dst: e.ip, lladdr: mac, state: NUD.permanent };
}

/**
 * Sets a permanent IP -> MAC entry on a device, replacing any other for that IP.
 * Equivalent to: `ip neigh replace IP lladdr MAC dev DEV nud permanent`
 */
export async function neighReplace(ns: Netns, dev: LinkRef, e: NeighEntry, o: { for?: string } = {}): Promise<void> {
  const req = neighRequest(indexOf(dev), e);
  const fd = await ns.rtnl();
  await attempt(`setting neighbour ${e.ip} -> ${e.mac} on ${nameOf(dev)} in ${ns}`,
    neighReplaceCommand(ns.name, nameOf(dev), e),
    () => native().neighAdd(fd, { ...req, create: 'replace' }), o.for);
}

/**
 * Deletes the entry for an IP on a device.
 * Equivalent to: `ip neigh del IP dev DEV`
 */
export async function neighDel(ns: Netns, dev: LinkRef, ip: string, o: { for?: string } = {}): Promise<void> {
  const fd = await ns.rtnl();
  await attempt(`deleting neighbour ${ip} from ${nameOf(dev)} in ${ns}`, neighDelCommand(ns.name, nameOf(dev), ip),
    () => native().neighDel(fd, { family: family(ip), index: indexOf(dev), dst: ip, state: NUD.permanent }), o.for);
}

/** A dumped entry, named (pure). */
export function neighRecord(n: NativeNeigh): NeighRecord {
  return { index: n.index, family: n.family === 6 ? 6 : 4, ip: n.dst ?? '', mac: n.lladdr ?? '', state: nudNames(n.state), flags: n.flags };
}

/**
 * The neighbour entries of a device (IPv4 unless `family` says 6).
 * Equivalent to: `ip neigh show dev DEV`
 */
export async function neighList(ns: Netns, dev: LinkRef, o: { family?: 4 | 6 } = {}): Promise<NeighRecord[]> {
  const fd = await ns.rtnl();
  const list = await attempt(`listing neighbours of ${nameOf(dev)} in ${ns}`,
    `ip ${ipNs(ns.name)}${o.family === 6 ? '-6 ' : ''}neigh show dev ${nameOf(dev)}`,
    () => native().neighList(fd, { family: o.family ?? 4, index: indexOf(dev) }));
  return list.map(neighRecord);
}
