// Endpoints: how a sandbox's namespace is attached to one network - an
// address from the network's pool, a MAC derived from it, and a veth whose
// host end is a port of the network's bridge and whose peer (eth0, eth1, ...)
// is born inside the sandbox's namespace:
//
//   ip link add veth1a2b3c4 master br-0123456789ab up type veth peer name eth0 netns web address 02:42:ac:12:00:02
//   ip link set dev veth1a2b3c4 type bridge_slave hairpin on   (its own published ports, via the gateway)
//   ip -n web addr add 172.18.0.2/16 dev eth0; ip -n web link set eth0 up
//   ip -n web route add default via 172.18.0.1          (the first network with a gateway)
import { addrAdd, addrAddCommand } from '../kernel/addr.js';
import { bridgePortSet, bridgePortSetCommand } from '../kernel/bridge.js';
import { indexOf, linkDel, linkDelCommand, linkGet, linkSet, linkSetCommand, type Link, type LinkRef } from '../kernel/link.js';
import { routeAdd, routeAddCommand } from '../kernel/route.js';
import { sysctlSet, sysctlSetCommand } from '../kernel/sysctl.js';
import { vethAdd, vethAddCommand, type VethText } from '../kernel/veth.js';
import { allocate, checkStatic } from '../net/ipam.js';
import { ipv4ToInt, parsePrefix } from '../net/ip.js';
import { allocate6, allocate6InWindow, atOffset6, checkStatic6, offset6, window6 } from '../net/ip6.js';
import { macFromIPv4 } from '../net/mac.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import { iccElements, MLD_QUIET_GROUP } from '../nft/table.js';
import type { Context } from './context.js';
import { asInvalid, invalidArg } from './errors.js';
import { elementsStep } from './firewall.js';
import { macvlanEndpointSteps } from './macvlan.js';
import { newId, vethName } from './names.js';
import type { SandboxNs } from './namespace.js';
import type { Step } from './plan.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord, State } from './types.js';

/** The address bitmap of a network, as ipam.ts wants it, and its bounds. */
export async function addressesOf(s: State, net: NetworkRecord) {
  const block = parseIpv4Block(net.subnet!);
  return { block, used: await s.addresses.usedTest(net.id, block.network, block.size) };
}

/** Plans one endpoint (address, MAC, names) for `sb` on `net`, and claims its address. */
export async function planEndpoint(s: State, sb: SandboxRecord, net: NetworkRecord,
  o: { ip?: string; ip6?: string; mac?: string; aliases?: string[]; ifname?: string }): Promise<EndpointRecord> {
  const pool = { subnet: net.subnet!, gateway: net.gateway!, ...(net.ipRange && { ipRange: net.ipRange }), ...(net.auxAddresses && { aux: net.auxAddresses }) };
  const { block, used } = await addressesOf(s, net);
  if (o.ip6) {
    // Checked before any claim, as Docker: a static IPv6 address needs a network with IPv6 and one chosen by its user.
    if (net.defaultBridge) throw invalidArg('user specified IP address is supported on user defined networks only');
    if (!net.enableIPv6) throw invalidArg(`invalid --ip6 ${o.ip6}: network ${net.name} has no IPv6 (it was not created with --ipv6)`);
  }
  let ip: string;
  if (o.ip) {
    if (net.defaultBridge) throw invalidArg('user specified IP address is supported on user defined networks only');
    asInvalid(() => checkStatic(pool, o.ip!, used));
    ip = o.ip;
  } else {
    ip = asInvalid(() => allocate(pool, used));
  }
  // IPv6 before the IPv4 claim is written: a refused --ip6 leaves the bitmap as it was.
  const ip6 = net.enableIPv6 ? await claimIpv6(s, net, o.ip6) : undefined;
  await s.addresses.set(net.id, block.network, block.size, ipv4ToInt(ip), true);
  const taken = new Set(sb.endpoints.map((e) => e.ifname));
  let i = 0;
  while (taken.has(`eth${i}`)) i++;
  return {
    networkId: net.id,
    endpointId: newId(),
    ifname: o.ifname ?? `eth${i}`,
    // 7 random hex digits: a clash is as unlikely as Docker's, and the kernel would refuse it (EEXIST).
    // A macvlan has no host end.
    hostVeth: net.driver === 'macvlan' ? '' : vethName(),
    ip,
    prefixlen: parsePrefix(net.subnet!).prefixlen,
    mac: o.mac ?? macFromIPv4(ip),
    gateway: net.gateway!,
    aliases: o.aliases ?? [],
    staticIp: !!o.ip,
    ...(ip6 && { ip6 }),
    ...(o.ip6 && { staticIp6: true }),
  };
}

/** IPv6 addresses beyond the bitmap's window handed out in a locked section, before their records are written. */
const claimed6 = new WeakMap<State, Set<string>>();

/** A dual-stack network's IPv6 bitmap (address-bits.ts) and its window (net/ip6.ts window6). */
async function addresses6Of(s: State, net: NetworkRecord) {
  const size = window6(net.subnet6!);
  return { size, used: await s.addresses6.usedTest(net.id, 0, size) };
}

/**
 * The lowest free IPv6 address of a dual-stack network (or `wanted`, --ip6,
 * if in the subnet and free), claimed. Claims are bits of the network's IPv6
 * bitmap (by offset in the subnet, over its first 4096 addresses): one file
 * read, whatever the number of sandboxes. Only a static address beyond the
 * window (or a full window) is looked for in the records, a scan that grows
 * with them (docs/ipv6.md).
 */
async function claimIpv6(s: State, net: NetworkRecord, wanted?: string): Promise<string> {
  const pool = { subnet: net.subnet6!, gateway: net.gateway6! };
  const { size, used } = await addresses6Of(s, net);
  let ip6: string | undefined;
  if (wanted === undefined) ip6 = allocate6InWindow(pool, used);
  else {
    const ip = asInvalid(() => checkStatic6(pool, wanted, [])); // in the subnet, not the gateway
    const at = offset6(pool.subnet, ip);
    if (at !== undefined) ip6 = asInvalid(() => checkStatic6(pool, ip, used(at) ? [ip] : []));
  }
  if (ip6 === undefined) {
    // Beyond the window: the records (and this section's claims) say what is taken.
    const mine = claimed6.get(s) ?? new Set<string>();
    claimed6.set(s, mine);
    const taken = new Set(mine);
    // Records being removed after a CNI DEL's answer still hold theirs (removals.ts).
    const pending = (await s.removing.all()).removals.map((r) => r.record);
    for (const r of [...await s.sandboxes.all(), ...pending]) for (const e of r.endpoints) if (e.networkId === net.id && e.ip6) taken.add(e.ip6);
    for (let i = 0; i < size; i++) if (used(i)) taken.add(atOffset6(pool.subnet, i));
    ip6 = wanted ? asInvalid(() => checkStatic6(pool, wanted, taken)) : asInvalid(() => allocate6(pool, taken));
    mine.add(ip6);
  }
  const at = offset6(pool.subnet, ip6);
  if (at !== undefined) await s.addresses6.set(net.id, 0, size, at, true);
  return ip6;
}

/** What the endpoint steps work on: the sandbox's namespace, and the network's bridge (macvlan: its parent) if it was found. */
export interface EndpointEnv {
  ns: SandboxNs;
  bridge?: Link | undefined;
}

/**
 * The kernel steps that attach a sandbox's namespace to a network through one
 * endpoint (on a macvlan network: macvlan.ts's). `ownVeth`: the veth (macvlan) must be deleted to take the endpoint away (a
 * live sandbox: connect/disconnect); else it goes with the namespace.
 * 'host-end': deleted by its host end (a runtime's namespace, CNI: it may
 * be gone, or its /proc/PID path now another process's; the host end is
 * nsnet's own name in the host's namespace, and the peer goes with it).
 */
export function endpointSteps(ctx: Context, sb: SandboxRecord, net: NetworkRecord, e: EndpointRecord, env: EndpointEnv,
  o: { defaultRoute: boolean; ownVeth: boolean | 'host-end'; born6?: boolean }): Step[] {
  if (net.driver === 'macvlan') {
    // Dual stack: the same IPv6 steps as on a bridge (its address beside the IPv4 one, once the macvlan exists); the IPv6 gateway is the LAN's router.
    const [link, ...rest] = macvlanEndpointSteps(ctx, sb, net, e, env, { ownLink: o.ownVeth === true });
    const v6 = e.ip6 ? ipv6EndpointSteps(sb, net, e, env.ns, { defaultRoute: o.defaultRoute, born6: !!o.born6 }) : undefined;
    return [link!, ...(v6 ? [v6.address] : []), ...rest, ...(o.defaultRoute ? [defaultRouteStep(sb, env.ns, e.gateway)] : []), ...(v6?.route ?? [])];
  }
  const forWhom = `sandbox ${sb.name}`;
  const netns = env.ns.name;
  // Dual stack: the port is born in MLD_QUIET_GROUP, whose MLD reports the bridge drops as they come in (nft/table.ts).
  const veth: VethText = {
    name: e.hostVeth, ...(e.ip6 && { group: MLD_QUIET_GROUP }), master: net.bridge!, up: true, ...(net.mtu && { mtu: net.mtu }),
    peer: { name: e.ifname, netns, address: e.mac, ...(net.mtu && { mtu: net.mtu }) },
  };
  let peer = { index: 0, name: e.ifname };
  let hostEnd = { index: 0, name: e.hostVeth };
  const v6 = e.ip6 ? ipv6EndpointSteps(sb, net, e, env.ns, { defaultRoute: o.defaultRoute, born6: !!o.born6, link: () => peer }) : undefined;
  return [
    {
      title: `creating veth ${e.hostVeth} (peer ${e.ifname} in netns ${netns})`,
      equivalent: [vethAddCommand(ctx.host.name, veth)],
      do: async () => {
        const [master, ns] = [env.bridge ?? await linkGet(ctx.host, net.bridge!), await env.ns.get()];
        const v = await vethAdd(ctx.host, { ...veth, master, peer: { ...veth.peer, netns: ns }, for: forWhom });
        peer = { index: v.peerIndex, name: e.ifname };
        hostEnd = { index: v.link.index, name: e.hostVeth };
      },
      ...(o.ownVeth === 'host-end' && {
        undo: {
          title: `deleting veth ${e.hostVeth} (and its peer ${e.ifname} in netns ${netns})`,
          equivalent: [linkDelCommand(ctx.host.name, e.hostVeth)],
          // Nothing of the removal needs it done (its address stays claimed until it is): it may run after the answer.
          deferrable: true,
          do: async () => {
            await linkDel(ctx.host, hostEnd.index ? hostEnd : await linkGet(ctx.host, e.hostVeth), { for: forWhom });
          },
        },
      }),
      ...(o.ownVeth === true && {
        undo: {
          title: `deleting ${e.ifname} in netns ${netns}`,
          equivalent: [linkDelCommand(netns, e.ifname)],
          do: async () => {
            const ns = await env.ns.get();
            await linkDel(ns, peer.index ? peer : await linkGet(ns, e.ifname), { for: forWhom });
          },
        },
      }),
    },
    {
      // So the sandbox reaches its own published ports through the gateway or a host address,
      // as in Docker: the DNAT sends the frame back out of the port it came in on. Its own
      // request (the kernel ignores port options at creation), beside the next step's.
      title: `turning on hairpin on bridge port ${e.hostVeth}`,
      equivalent: [bridgePortSetCommand(ctx.host.name, e.hostVeth, { hairpin: true })],
      overlap: true,
      do: () => bridgePortSet(ctx.host, hostEnd, { hairpin: true, for: forWhom }),
    },
    ...(v6 ? [v6.address] : []),
    {
      title: `adding ${e.ip}/${e.prefixlen} to ${e.ifname} and bringing it up`,
      equivalent: [addrAddCommand(netns, e.ifname, `${e.ip}/${e.prefixlen}`), linkSetCommand(netns, e.ifname, { up: true })],
      do: async () => {
        const ns = await env.ns.get();
        await Promise.all([addrAdd(ns, peer, `${e.ip}/${e.prefixlen}`, { for: forWhom }), linkSet(ns, peer, { up: true, for: forWhom })]);
      },
    },
    ...(o.defaultRoute ? [defaultRouteStep(sb, env.ns, e.gateway)] : []),
    ...(v6?.route ?? []),
    ...(net.icc === false ? [elementsStep(ctx, `isolating ${e.hostVeth} from the other ports of ${net.bridge} (enable_icc=false)`,
      (op) => iccElements(op, e.hostVeth), `removing ${e.hostVeth} from icc_off_ports`)] : []),
  ];
}

/** The step that routes a sandbox's traffic out through `gateway` (the first network with one). */
export function defaultRouteStep(sb: SandboxRecord, ns: SandboxNs, gateway: string): Step {
  return {
    title: `adding default route via ${gateway}`,
    equivalent: [routeAddCommand(ns.name, { dst: 'default', via: gateway })],
    do: async () => routeAdd(await ns.get(), { dst: 'default', via: gateway, for: `sandbox ${sb.name}` }),
  };
}

/**
 * A dual-stack endpoint's IPv6. In a sandbox born with dual-stack endpoints
 * only (`born6`), its interface is born with IPv6 on, no router
 * advertisements taken and no DAD (namespace.ts SANDBOX_IPV6_SYSCTLS): only
 * the address is left to add. Else it was born with IPv6 off
 * (SANDBOX_SYSCTLS, or a runtime's namespace): three sysctl writes turn it
 * on the same way. The address is added nodad (never tentative: usable at
 * once, as Docker adds them). That step needs only the interface, so it runs
 * beside the IPv4 address and link-up (overlap); the default IPv6 route, via
 * the bridge's gateway, waits for it.
 *   ip netns exec web sysctl -w net.ipv6.conf.eth0.accept_ra=0       (these three unless born6)
 *   ip netns exec web sysctl -w net.ipv6.conf.eth0.accept_dad=0
 *   ip netns exec web sysctl -w net.ipv6.conf.eth0.disable_ipv6=0
 *   ip -n web addr add 2001:db8:1::2/64 dev eth0 nodad
 *   ip -n web route add default via 2001:db8:1::1
 * `link`: the interface's index once known (else it is looked up by name).
 */
export function ipv6EndpointSteps(sb: SandboxRecord, net: NetworkRecord, e: EndpointRecord, ns: SandboxNs,
  o: { defaultRoute: boolean; born6: boolean; link?: () => LinkRef }): { address: Step; route: Step[] } {
  const forWhom = `sandbox ${sb.name}`;
  const cidr = `${e.ip6}/${net.subnet6!.split('/')[1]}`;
  const keys: [string, number][] = o.born6 ? [] : [['accept_ra', 0], ['accept_dad', 0], ['disable_ipv6', 0]];
  const sysctls = keys.map(([k, v]): [string, number] => [`net/ipv6/conf/${e.ifname}/${k}`, v]);
  let added: Promise<void> | undefined;
  const address: Step = {
    title: `adding ${cidr} to ${e.ifname}${o.born6 ? '' : ' (IPv6 on)'}`,
    equivalent: [...sysctls.map(([k, v]) => sysctlSetCommand(ns.name, k, v)), addrAddCommand(ns.name, e.ifname, cidr, { nodad: true })],
    overlap: true,
    do: () => {
      added = (async () => {
        const n = await ns.get();
        const known = o.link?.();
        const link = known && indexOf(known) ? known : await linkGet(n, e.ifname);
        for (const [k, v] of sysctls) await sysctlSet(n, k, v, { for: forWhom });
        await addrAdd(n, link, cidr, { nodad: true, for: forWhom });
      })();
      return added;
    },
  };
  if (!o.defaultRoute || !net.gateway6) return { address, route: [] };
  const route = defaultRouteStep(sb, ns, net.gateway6);
  return {
    address,
    route: [{
      ...route,
      do: async () => {
        await added; // the address makes the gateway's prefix on-link (a dry run never started it)
        await route.do();
      },
    }],
  };
}

/** Gives an endpoint's addresses (IPv4, and IPv6 on a dual-stack network) back to its network's pools. */
export async function releaseAddress(s: State, net: NetworkRecord, e: { ip: string; ip6?: string | undefined }): Promise<void> {
  const block = parseIpv4Block(net.subnet!);
  await s.addresses.set(net.id, block.network, block.size, ipv4ToInt(e.ip), false);
  const at = e.ip6 && net.subnet6 ? offset6(net.subnet6, e.ip6) : undefined;
  if (at !== undefined) await s.addresses6.set(net.id, 0, window6(net.subnet6!), at, false);
}
