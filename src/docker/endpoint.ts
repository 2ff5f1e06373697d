// Endpoints: how a sandbox's namespace is attached to one network - an
// address from the network's pool, a MAC derived from it, and a veth whose
// host end is a port of the network's bridge and whose peer (eth0, eth1, ...)
// is born inside the sandbox's namespace:
//
//   ip link add veth1a2b3c4 master br-0123456789ab up type veth peer name eth0 netns web address 02:42:ac:12:00:02
//   ip link set dev veth1a2b3c4 type bridge_slave hairpin on   (its own published ports, via the gateway)
//   ip -n web addr add 172.18.0.2/16 dev eth0; ip -n web link set eth0 up
//   ip -n web route add default via 172.18.0.1          (the first network with a gateway)
import { addrAdd } from '../kernel/addr.js';
import { bridgePortSet } from '../kernel/bridge.js';
import { linkDel, linkGet, linkSet, type Link } from '../kernel/link.js';
import type { Netns } from '../kernel/netns.js';
import { routeAdd } from '../kernel/route.js';
import { vethAdd } from '../kernel/veth.js';
import { allocate, checkStatic } from '../net/ipam.js';
import { ipv4ToInt, parsePrefix } from '../net/ip.js';
import { macFromIPv4 } from '../net/mac.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import { iccElements } from '../nft/table.js';
import type { Context } from './context.js';
import { asInvalid, invalidArg } from './errors.js';
import { addElements, deleteElements } from './firewall.js';
import { newId, vethName } from './names.js';
import { ensureBridge } from './networks.js';
import type { Step } from './plan.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord, State } from './types.js';

/** The address bitmap of a network, as ipam.ts wants it, and its bounds. */
export async function addressesOf(s: State, net: NetworkRecord) {
  const block = parseIpv4Block(net.subnet!);
  return { block, used: await s.addresses.usedTest(net.id, block.network, block.size) };
}

/** Plans one endpoint (address, MAC, names) for `sb` on `net`, and claims its address. */
export async function planEndpoint(s: State, sb: SandboxRecord, net: NetworkRecord, o: { ip?: string; mac?: string; aliases?: string[] }): Promise<EndpointRecord> {
  const pool = { subnet: net.subnet!, gateway: net.gateway!, ...(net.ipRange && { ipRange: net.ipRange }) };
  const { block, used } = await addressesOf(s, net);
  let ip: string;
  if (o.ip) {
    if (net.defaultBridge) throw invalidArg('user specified IP address is supported on user defined networks only');
    asInvalid(() => checkStatic(pool, o.ip!, used));
    ip = o.ip;
  } else {
    ip = asInvalid(() => allocate(pool, used));
  }
  await s.addresses.set(net.id, block.network, block.size, ipv4ToInt(ip), true);
  const taken = new Set(sb.endpoints.map((e) => e.ifname));
  let i = 0;
  while (taken.has(`eth${i}`)) i++;
  return {
    networkId: net.id,
    endpointId: newId(),
    ifname: `eth${i}`,
    // 7 random hex digits: a clash is as unlikely as Docker's, and the kernel would refuse it (EEXIST).
    hostVeth: vethName(),
    ip,
    prefixlen: parsePrefix(net.subnet!).prefixlen,
    mac: o.mac ?? macFromIPv4(ip),
    gateway: net.gateway!,
    aliases: o.aliases ?? [],
    staticIp: !!o.ip,
  };
}

/** The kernel steps that attach an existing namespace to a network through one endpoint. */
export function endpointSteps(ctx: Context, sb: SandboxRecord, net: NetworkRecord, e: EndpointRecord, ns: () => Netns | Promise<Netns>,
  o: { defaultRoute: boolean; ownVeth: boolean }): Step[] {
  const forWhom = `sandbox ${sb.name}`;
  let peer = { index: 0, name: e.ifname };
  let hostEnd = { index: 0, name: e.hostVeth };
  let bridge: Promise<Link | undefined> | undefined; // looked up once, by the first step
  return [
    {
      title: `making sure network ${net.name} (bridge ${net.bridge}) is up`,
      equivalent: [`ip link show ${net.bridge} >/dev/null  # created with the network; made again if missing`],
      // Beside the namespace's creation (a sandbox's first steps): the veth step waits for both.
      overlap: true,
      do: async () => {
        bridge = ensureBridge(ctx, net);
        await bridge;
      },
    },
    {
      title: `creating veth ${e.hostVeth} (peer ${e.ifname} in netns ${sb.netns})`,
      equivalent: [`ip link add ${e.hostVeth}${net.mtu ? ` mtu ${net.mtu}` : ''} master ${net.bridge} up type veth peer name ${e.ifname} netns ${sb.netns} address ${e.mac}`],
      do: async () => {
        const [master, netns] = [(await bridge) ?? await linkGet(ctx.host, net.bridge!), await ns()];
        const v = await vethAdd(ctx.host, {
          name: e.hostVeth, master, up: true, ...(net.mtu && { mtu: net.mtu }),
          peer: { name: e.ifname, netns, address: e.mac, ...(net.mtu && { mtu: net.mtu }) }, for: forWhom,
        });
        peer = { index: v.peerIndex, name: e.ifname };
        hostEnd = { index: v.link.index, name: e.hostVeth };
      },
      // A new sandbox's veth goes with its namespace; on a live one (connect) it must be deleted.
      ...(o.ownVeth && { undo: async () => linkDel(await ns(), peer, { for: forWhom }) }),
    },
    {
      // So the sandbox reaches its own published ports through the gateway or a host address,
      // as in Docker: the DNAT sends the frame back out of the port it came in on. Its own
      // request (the kernel ignores port options at creation), beside the next step's.
      title: `turning on hairpin on bridge port ${e.hostVeth}`,
      equivalent: [`ip link set dev ${e.hostVeth} type bridge_slave hairpin on`],
      overlap: true,
      do: () => bridgePortSet(ctx.host, hostEnd, { hairpin: true, for: forWhom }),
    },
    {
      title: `adding ${e.ip}/${e.prefixlen} to ${e.ifname} and bringing it up`,
      equivalent: [`ip -n ${sb.netns} addr add ${e.ip}/${e.prefixlen} dev ${e.ifname}`, `ip -n ${sb.netns} link set ${e.ifname} up`],
      do: async () => {
        const netns = await ns();
        await Promise.all([addrAdd(netns, peer, `${e.ip}/${e.prefixlen}`, { for: forWhom }), linkSet(netns, peer, { up: true, for: forWhom })]);
      },
    },
    ...(o.defaultRoute ? [{
      title: `adding default route via ${e.gateway}`,
      equivalent: [`ip -n ${sb.netns} route add default via ${e.gateway}`],
      do: async () => routeAdd(await ns(), { dst: 'default', via: e.gateway, for: forWhom }),
    }] : []),
    ...(net.icc === false ? [{
      title: `isolating ${e.hostVeth} from the other ports of ${net.bridge} (enable_icc=false)`,
      equivalent: [`nft ${iccElements('add', e.hostVeth).trim()}`],
      do: () => addElements(ctx, iccElements('add', e.hostVeth), `isolating ${e.hostVeth} (enable_icc=false) for ${forWhom}`),
      undo: () => deleteElements(ctx, iccElements('delete', e.hostVeth), `removing ${e.hostVeth} from icc_off_ports`),
    }] : []),
  ];
}

/** Gives an endpoint's address back to its network's pool. */
export async function releaseAddress(s: State, net: NetworkRecord, ip: string): Promise<void> {
  const block = parseIpv4Block(net.subnet!);
  await s.addresses.set(net.id, block.network, block.size, ipv4ToInt(ip), false);
}
