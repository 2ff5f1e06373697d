// A macvlan network (`nsnet network create -d macvlan -o parent=ens4 ...`):
// each sandbox gets a macvlan of the parent as eth0/eth1..., born in its
// namespace with its own MAC, and sits on the parent's LAN as a machine of
// its own. The network itself has no kernel object on the host: no bridge,
// no NAT, no firewall elements, no published ports; `network rm` touches
// nothing on the parent. Only --internal gives it one: a parent of its own,
// a bridge with no ports named dm-<id> (Docker makes a dummy link; this
// kernel has none, and a port-less bridge is up and has carrier, which a
// macvlan's lower device needs), so its sandboxes reach only each other.
//
//   ip link add link ens4 name eth0 netns web address 02:42:c0:00:02:02 up type macvlan mode bridge
//   ip -n web addr add 192.0.2.2/24 dev eth0
//   ip -n web route add default via 192.0.2.1          (the LAN's router; not with --internal)
//
// docs/macvlan.md: the modes, the host that cannot reach its own macvlans
// (the kernel's rule) and the "shim" that lets it.
import { addrAdd, addrAddCommand } from '../kernel/addr.js';
import { bridgeAddCommand, bridgeEnsure, type BridgeOptions } from '../kernel/bridge.js';
import { isNotFound } from '../kernel/errors.js';
import { checkIfName, ipNs, linkDel, linkDelCommand, linkGet, type Link } from '../kernel/link.js';
import { isMacvlanMode, macvlanAdd, macvlanAddCommand, type MacvlanText } from '../kernel/macvlan.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import type { Context } from './context.js';
import { conflict, invalidArg, notFound } from './errors.js';
import type { EndpointEnv } from './endpoint.js';
import type { Step } from './plan.js';
import type { EndpointRecord, MacvlanMode, NetworkRecord, SandboxRecord, State } from './types.js';

/** The -o options of the macvlan driver (Docker's parentOpt, driverModeOpt). */
export const MACVLAN_OPTIONS = ['parent', 'macvlan_mode'] as const;

/** The modes nsnet offers (the kernel's `source` needs a MAC list: not a Docker mode). */
const MODES: readonly MacvlanMode[] = ['bridge', 'vepa', 'private', 'passthru'];

/** Docker's name for an internal macvlan network's own parent: dm-<12 hex of the id>. */
export const ownParentName = (networkId: string): string => `dm-${networkId.slice(0, 12)}`;

/**
 * The parent and mode of a new macvlan network, from its -o options (pure).
 * --internal: a parent of its own (Docker ignores -o parent then: "empty
 * --parent= and --internal are handled the same").
 */
export function planMacvlan(id: string, internal: boolean, options: Record<string, string>):
  { parent: string; mode: MacvlanMode; ownParent: boolean; warning?: string } {
  const modeText = options.macvlan_mode ?? 'bridge';
  if (!(MODES as readonly string[]).includes(modeText) || !isMacvlanMode(modeText)) {
    throw invalidArg(`requested macvlan mode '${modeText}' is not valid, 'bridge' mode is the macvlan driver default (${MODES.join(', ')})`);
  }
  const mode = modeText as MacvlanMode;
  const given = options.parent;
  if (internal) {
    const parent = ownParentName(id);
    return { parent, mode, ownParent: true,
      ...(given && { warning: `WARNING: --internal: macvlan network gets a parent of its own (${parent}); -o parent=${given} is not used` }) };
  }
  if (!given) throw invalidArg('macvlan network needs -o parent=IFACE (the host interface on the LAN, e.g. -o parent=ens4), or --internal');
  if (given === 'lo') throw invalidArg('loopback interface is not a valid macvlan parent link');
  try {
    checkIfName(given);
  } catch (e) {
    throw invalidArg(`-o parent=${given}: ${(e as Error).message}`);
  }
  return { parent: given, mode, ownParent: false };
}

/**
 * Docker's check: two macvlan networks on one parent would put two sets of
 * sandboxes on one LAN with the same addresses. Pure.
 */
export function macvlanOverlap(subnet: string, parent: string, networks: NetworkRecord[]): string | undefined {
  const want = parseIpv4Block(subnet);
  const other = networks.find((n) => {
    if (n.driver !== 'macvlan' || n.parent !== parent || !n.subnet) return false;
    const b = parseIpv4Block(n.subnet);
    return want.network < b.network + b.size && b.network < want.network + want.size;
  });
  return other && `network ${other.name} already uses parent ${parent} with subnet ${other.subnet}, which overlaps ${subnet}`;
}

/** The parent, or a clear error naming it and the network. */
export async function findParent(ctx: Context, n: NetworkRecord): Promise<Link> {
  try {
    return await linkGet(ctx.host, n.parent!);
  } catch (e) {
    if (isNotFound(e)) {
      throw notFound(`-o parent interface ${n.parent} was not found on the host (macvlan network ${n.name})`);
    }
    throw e;
  }
}

/**
 * Checks a new endpoint on a macvlan network, before its address is claimed:
 * passthru takes the whole parent, so one sandbox (the kernel's answer to a
 * second is a bare EINVAL), and its macvlan has the parent's MAC (the kernel
 * ignores any other): returned, to be the endpoint's.
 */
export async function checkMacvlanEndpoint(ctx: Context, s: State, net: NetworkRecord, o: { mac?: string }): Promise<{ mac?: string }> {
  if (net.macvlanMode !== 'passthru') return {};
  const b = parseIpv4Block(net.subnet!);
  if (await s.addresses.anyUsed(net.id, b.network, b.size)) {
    throw conflict(`macvlan network ${net.name} is in passthru mode: its parent ${net.parent} takes one sandbox, and one has it`);
  }
  if (o.mac) throw invalidArg(`macvlan network ${net.name} is in passthru mode: the sandbox has its parent's MAC address; drop --mac-address`);
  if (ctx.dryRun && ctx.planned?.has(`parent ${net.parent}`)) return {};
  return { mac: (await findParent(ctx, net)).address };
}

/**
 * The network's own kernel objects: none (a look at the parent), but with
 * --internal its parent (a port-less bridge), with its undo (network rm).
 */
export function macvlanNetworkSteps(ctx: Context, n: NetworkRecord): Step[] {
  if (!n.ownParent) {
    // A read, shown so that --dry-run says what the network stands on; nothing to undo.
    return [{
      title: `checking parent ${n.parent} (macvlan network ${n.name} makes nothing on it)`,
      equivalent: [`ip ${ipNs(ctx.host.name)}link show dev ${n.parent}`],
      do: async () => { await findParent(ctx, n); },
    }];
  }
  const forWhom = `network ${n.name}`;
  const opts: BridgeOptions = { name: n.parent!, up: true, for: forWhom };
  let created: boolean | undefined;
  return [{
    title: `creating ${n.parent} (a bridge with no ports: the parent of internal macvlan network ${n.name})`,
    equivalent: [bridgeAddCommand(ctx.host.name, opts)],
    do: async () => {
      created = (await bridgeEnsure(ctx.host, opts)).created;
    },
    undo: {
      title: `deleting ${n.parent}`,
      equivalent: [linkDelCommand(ctx.host.name, n.parent!)],
      do: async () => {
        if (created !== false) await linkDel(ctx.host, await linkGet(ctx.host, n.parent!), { for: forWhom });
      },
    },
  }];
}

/**
 * The kernel steps of one endpoint on a macvlan network: the macvlan, born
 * in the sandbox's namespace (up, with its MAC), and its address (the
 * default route via the LAN's router is endpoint.ts's step). `ownLink`: it must be deleted to take
 * the endpoint away (a live sandbox: connect/disconnect); else it goes with
 * the namespace. `env.bridge`: the parent, if already looked up.
 */
export function macvlanEndpointSteps(ctx: Context, sb: SandboxRecord, net: NetworkRecord, e: EndpointRecord, env: EndpointEnv,
  o: { ownLink: boolean }): Step[] {
  const forWhom = `sandbox ${sb.name}`;
  const netns = env.ns.name;
  const mode = net.macvlanMode ?? 'bridge';
  // passthru: the kernel gives it the parent's MAC whatever is asked (e.mac is that one).
  const text: MacvlanText = { name: e.ifname, parent: net.parent!, mode, netns, ...(mode !== 'passthru' && { address: e.mac }), up: true };
  let link = { index: 0, name: e.ifname };
  const cidr = `${e.ip}/${e.prefixlen}`;
  return [
    {
      title: `creating macvlan ${e.ifname} on ${net.parent} in netns ${netns} (mode ${mode})`,
      equivalent: [macvlanAddCommand(ctx.host.name, text)],
      do: async () => {
        const [parent, ns] = [env.bridge ?? await findParent(ctx, net), await env.ns.get()];
        await macvlanAdd(ctx.host, { ...text, parent, netns: ns, for: forWhom });
        // Born in another namespace: the kernel's echo went there. Its index, for the next steps.
        link = { index: (await linkGet(ns, e.ifname)).index, name: e.ifname };
      },
      ...(o.ownLink && {
        undo: {
          title: `deleting ${e.ifname} in netns ${netns}`,
          equivalent: [linkDelCommand(netns, e.ifname)],
          do: async () => {
            const ns = await env.ns.get();
            await linkDel(ns, link.index ? link : await linkGet(ns, e.ifname), { for: forWhom });
          },
        },
      }),
    },
    {
      title: `adding ${cidr} to ${e.ifname}`,
      equivalent: [addrAddCommand(netns, e.ifname, cidr)],
      do: async () => addrAdd(await env.ns.get(), link, cidr, { for: forWhom }),
    },
  ];
}
