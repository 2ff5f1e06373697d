// The way out of an overlay network, as Docker's docker_gwbridge (libnetwork's
// default_gateway.go): an overlay endpoint has no gateway, so a sandbox on a
// non-internal overlay network also gets an endpoint on a local bridge
// network, nsnet_gwbridge, as its second interface (eth1), which carries its
// default route (masqueraded out by the host, as any bridge network's) and its
// published ports. The network is made on this host by the first overlay
// sandbox that needs it (subnet from the default pool, icc off, masquerade on,
// Docker's three options) and stays; the endpoint is planned here and made
// and removed by the sandbox's own plan (endpoint.ts), like any endpoint.
//
//   ip link add nsnet_gwbridge up type bridge; ip addr add 172.18.0.1/16 dev nsnet_gwbridge   (first use)
//   ip link add vethXXX master nsnet_gwbridge up type veth peer name eth1 netns web address 02:42:ac:12:00:02
//   ip -n web addr add 172.18.0.2/16 dev eth1; ip -n web route add default via 172.18.0.1
//   nft add element bridge nsnet icc_off_ports { "vethXXX" }
import type { Context } from './context.js';
import { planEndpoint } from './endpoint.js';
import { conflict } from './errors.js';
import { hostResolvConf, reservedPrefixes } from './host.js';
import { GWBRIDGE, GWBRIDGE_OPTIONS, planNetwork } from './network.js';
import { createBitmap } from './networks.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord, State } from './types.js';

/**
 * nsnet_gwbridge, or (first use on this host) its record planned and added to
 * the state, with its empty address bitmap: its bridge is then made by the
 * sandbox's plan as a bridge missing after a reboot is (missingBridgeSteps),
 * and stays whatever becomes of the sandbox. `avoid`: subnets its default
 * one must not overlap besides the host's (the overlay network's).
 */
export async function gwbridgeNetwork(ctx: Context, s: State, avoid: string[]): Promise<NetworkRecord> {
  const found = s.networks.find((n) => n.name === GWBRIDGE);
  if (found) {
    if (found.driver !== 'bridge') {
      throw conflict(`network ${GWBRIDGE} is a ${found.driver} network: overlay sandboxes need it to be a bridge network (remove it: nsnet makes it on first use)`);
    }
    return found;
  }
  const reserved = [...await reservedPrefixes(ctx.host, await hostResolvConf()), ...avoid];
  const { network } = planNetwork({ name: GWBRIDGE, options: { ...GWBRIDGE_OPTIONS } }, s, reserved);
  s.networks.push(network);
  createBitmap(s, network);
  return network;
}

/**
 * Plans (under the state lock) `sb`'s endpoint on nsnet_gwbridge, its address
 * claimed in the network's bitmap: the interface after the overlay one, no
 * aliases (it answers to no name).
 */
export async function planGwbridgeEndpoint(ctx: Context, s: State, sb: SandboxRecord, overlaySubnet: string): Promise<EndpointRecord> {
  const net = await gwbridgeNetwork(ctx, s, [overlaySubnet]);
  const e = await planEndpoint(s, sb, net, { aliases: [], ifname: `eth${sb.endpoints.length + 1}` });
  return { ...e, gwbridge: true };
}
