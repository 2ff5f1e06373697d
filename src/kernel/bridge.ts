// Linux bridge: a virtual Ethernet switch in the kernel. Docker's docker0
// and br-<id> are bridges; each container's host-side veth is a port of one.
// The bridge's own address (172.17.0.1) is the containers' gateway.
//
//   ip link add br0 type bridge; ip link set br0 up
//   ip link show master br0          the ports
//   bridge link                      the ports, with their state
//   bridge -d link show dev vethX    a port's flags (hairpin on)
//
// Man pages: ip-link(8) (type bridge), bridge(8).
import { native } from '../native.js';
import { attempt, invalid, isExists } from './errors.js';
import { checkIfName, linkGet, linkList, indexOf, ipNs, nameOf, type Link, type LinkRef } from './link.js';
import type { Netns } from './netns.js';

export interface BridgeOptions {
  name: string;
  up?: boolean;
  mtu?: number;
  address?: string;
  for?: string;
}

/** The `ip link add ... type bridge` command that bridgeAdd's request amounts to. */
export function bridgeAddCommand(ns: string | undefined, o: BridgeOptions): string {
  const opts = [o.mtu && `mtu ${o.mtu}`, o.address && `address ${o.address}`, o.up && 'up'].filter(Boolean).join(' ');
  return `ip ${ipNs(ns)}link add ${o.name}${opts ? ` ${opts}` : ''} type bridge`;
}

/** The `ip link set ... type bridge_slave` command that bridgePortSet's request amounts to. */
export function bridgePortSetCommand(ns: string | undefined, port: string, o: BridgePortOptions): string {
  return `ip ${ipNs(ns)}link set dev ${port} type bridge_slave hairpin ${o.hairpin ? 'on' : 'off'}`;
}

/**
 * Creates a bridge.
 * Equivalent to: `ip link add NAME [mtu N] [address MAC] [up] type bridge`
 */
export async function bridgeAdd(ns: Netns, o: BridgeOptions): Promise<Link> {
  checkIfName(o.name);
  const fd = await ns.rtnl();
  const link = await attempt(`creating bridge ${o.name} in ${ns}`, bridgeAddCommand(ns.name, o),
    () => native().linkAdd(fd, {
      name: o.name,
      kind: 'bridge',
      ...(o.mtu !== undefined && { mtu: o.mtu }),
      ...(o.address !== undefined && { address: o.address }),
      ...(o.up !== undefined && { up: o.up }),
    }),
    o.for);
  if (!link) throw new Error(`creating bridge ${o.name}: the kernel did not report the new link`);
  return link;
}

/**
 * The bridge called `name`, created if missing (idempotent, as CNI's
 * ensureBridge): an existing link of another kind is an error.
 * Equivalent to: `ip link show NAME type bridge || ip link add NAME type bridge`
 */
export async function bridgeEnsure(ns: Netns, o: BridgeOptions): Promise<{ link: Link; created: boolean }> {
  try {
    return { link: await bridgeAdd(ns, o), created: true };
  } catch (e) {
    if (!isExists(e)) throw e;
    const link = await linkGet(ns, o.name);
    if (link.kind !== 'bridge') throw invalid(`${o.name} already exists in ${ns} but is not a bridge (kind ${link.kind ?? 'none'})`);
    return { link, created: false };
  }
}

/**
 * The links enslaved to a bridge.
 * Equivalent to: `ip -n NS link show master BR`
 */
export async function bridgePorts(ns: Netns, bridge: LinkRef): Promise<Link[]> {
  const index = indexOf(bridge);
  return (await linkList(ns)).filter((l) => l.master === index);
}

export interface BridgePortOptions {
  /**
   * Hairpin mode: frames may leave through the port they came in on. A
   * sandbox reaching its own published port through the gateway needs it
   * when bridged IPv4 goes through netfilter (br_netfilter): the DNAT to
   * its own address turns the frame around on its own port.
   */
  hairpin?: boolean;
  for?: string;
}

/**
 * Sets a bridge port's options. The kernel ignores them in the request that
 * creates the link (measured: only a link that already has a master takes
 * IFLA_INFO_SLAVE_DATA), so this is a request of its own (~0.05 ms).
 * Equivalent to: `ip link set dev PORT type bridge_slave hairpin on`
 * (or `bridge link set dev PORT hairpin on`)
 */
export async function bridgePortSet(ns: Netns, port: LinkRef, o: BridgePortOptions): Promise<void> {
  if (o.hairpin === undefined) return;
  const fd = await ns.rtnl();
  const mode = o.hairpin ? 'on' : 'off';
  await attempt(`setting hairpin ${mode} on bridge port ${nameOf(port)} in ${ns}`,
    bridgePortSetCommand(ns.name, nameOf(port), o),
    () => native().linkSet(fd, indexOf(port), { hairpin: o.hairpin! }),
    o.for);
}

