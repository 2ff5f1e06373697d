// A bridge network's kernel objects, as one plan:
//   ip link add br-0123456789ab address 02:... up type bridge
//   ip addr add 172.18.0.1/16 dev br-0123456789ab        the gateway
//   sysctl -w net.ipv4.ip_forward=1
//   sysctl -w net.ipv4.conf.br-0123456789ab.route_localnet=1   (published ports on 127.0.0.1)
//   nft add element ip nsnet bridges { "br-0123456789ab" } ...   (src/nft/table.ts)
// `network create` runs it, `network rm` runs its removal (removeSteps). After
// a reboot the bridge is gone but the network is not: the next sandbox that
// attaches finds it missing and runs this plan first (missingBridgeSteps), as
// Docker recreates its bridges at start.
import { addrAdd, addrAddCommand } from '../kernel/addr.js';
import { bridgeAddCommand, bridgeEnsure, type BridgeOptions } from '../kernel/bridge.js';
import { isExists, isNotFound } from '../kernel/errors.js';
import { linkDel, linkDelCommand, linkGet, type Link } from '../kernel/link.js';
import { sysctlSet, sysctlSetCommand } from '../kernel/sysctl.js';
import { parsePrefix } from '../net/ip.js';
import { bridgeMac } from '../net/mac.js';
import { networkElements } from '../nft/table.js';
import { shownBefore, type Context } from './context.js';
import { dockerForwardAccept, dockerForwardRemove, dockerForwardRemoveCommand, dockerForwardText, elementsStep, networkRules, tablesStep } from './firewall.js';
import { nftApplyCommand } from '../kernel/nftables.js';
import { macvlanNetworkSteps } from './macvlan.js';
import type { Step } from './plan.js';
import type { NetworkRecord, SandboxRecord } from './types.js';

/** The steps that make a bridge network's kernel objects, each with its undo. */
export function bridgeSteps(ctx: Context, n: NetworkRecord): Step[] {
  const bridge = n.bridge!;
  const forWhom = `network ${n.name}`;
  const prefixlen = parsePrefix(n.subnet!).prefixlen;
  const opts: BridgeOptions = { name: bridge, up: true, address: bridgeMac(n.id), ...(n.mtu && { mtu: n.mtu }), for: forWhom };
  // Set when this plan ran the step: a bridge that was there before (a user's own) is not deleted by a rollback.
  let created: boolean | undefined;
  const sysctl = (key: string, value: number) => ({ equivalent: sysctlSetCommand(ctx.host.name, key, value), set: () => sysctlSet(ctx.host, key, value, { for: forWhom }) });
  const forwarding = [sysctl('net.ipv4.ip_forward', 1), sysctl(`net/ipv4/conf/${bridge}/route_localnet`, 1)];
  // --internal without nftables: the kernel itself routes nothing that comes in on this bridge,
  // so an `nft flush ruleset` can't open an internal network to the world.
  const noRouting = sysctl(`net/ipv4/conf/${bridge}/forwarding`, 0);
  return [
    {
      title: `creating bridge ${bridge}`,
      equivalent: [bridgeAddCommand(ctx.host.name, opts)],
      do: async () => {
        created = (await bridgeEnsure(ctx.host, opts)).created;
      },
      undo: {
        title: `deleting bridge ${bridge}`,
        equivalent: [linkDelCommand(ctx.host.name, bridge)],
        do: async () => {
          if (created !== false) await linkDel(ctx.host, await linkGet(ctx.host, bridge), { for: forWhom });
        },
      },
    },
    {
      title: `adding gateway ${n.gateway}/${prefixlen} to ${bridge}`,
      equivalent: [addrAddCommand(ctx.host.name, bridge, `${n.gateway}/${prefixlen}`)],
      do: async () => {
        const link = await linkGet(ctx.host, bridge);
        await addrAdd(ctx.host, link, `${n.gateway}/${prefixlen}`, { for: forWhom }).catch((e: unknown) => {
          if (!isExists(e)) throw e;
        });
      },
    },
    {
      // route_localnet lets a DNAT of 127.0.0.1:PORT leave through the bridge (published ports from the host itself).
      title: 'turning on IPv4 forwarding',
      equivalent: forwarding.map((f) => f.equivalent),
      do: async () => {
        for (const f of forwarding) await f.set();
      },
    },
    ...(n.enableIPv6 ? bridgeIpv6Steps(ctx, n) : []),
    // After ip_forward: writing that one resets every interface's forwarding.
    ...(n.internal ? [{ title: `turning off routing from ${bridge} (internal network)`, equivalent: [noRouting.equivalent], do: noRouting.set }] : []),
    elementsStep(ctx, `adding ${bridge} to the nsnet firewall`, (op) => networkElements(op, networkRules(n)), `removing ${bridge} from the nsnet firewall`),
    {
      title: `letting ${bridge} through Docker's FORWARD chain, if Docker is here`,
      equivalent: nftApplyCommand(ctx.host.name, dockerForwardText(bridge)),
      do: async () => {
        if (await dockerForwardAccept(ctx, bridge)) ctx.warn(`nsnet: Docker's FORWARD policy is drop here; added accept rules for ${bridge} to DOCKER-USER`);
      },
      undo: { title: `removing ${bridge} from Docker's FORWARD chain`, equivalent: dockerForwardRemoveCommand(bridge), do: () => dockerForwardRemove(ctx, bridge) },
    },
  ];
}

/**
 * A dual-stack network's IPv6 on its bridge: IPv6 on (the host's default may
 * have it off), no router advertisements taken, the gateway address without
 * duplicate address detection (nodad, as Docker), IPv6 forwarding on.
 *   sysctl -w net.ipv6.conf.br-0123456789ab.disable_ipv6=0 (accept_ra=0)
 *   ip addr add 2001:db8:1::1/64 dev br-0123456789ab nodad
 *   sysctl -w net.ipv6.conf.all.forwarding=1
 */
function bridgeIpv6Steps(ctx: Context, n: NetworkRecord): Step[] {
  const bridge = n.bridge!;
  const forWhom = `network ${n.name}`;
  const cidr = `${n.gateway6}/${n.subnet6!.split('/')[1]}`;
  const sysctls: [string, number][] = [[`net/ipv6/conf/${bridge}/accept_ra`, 0], [`net/ipv6/conf/${bridge}/disable_ipv6`, 0]];
  return [
    {
      title: `adding IPv6 gateway ${cidr} to ${bridge}`,
      equivalent: [...sysctls.map(([k, v]) => sysctlSetCommand(ctx.host.name, k, v)), addrAddCommand(ctx.host.name, bridge, cidr, { nodad: true })],
      do: async () => {
        for (const [k, v] of sysctls) await sysctlSet(ctx.host, k, v, { for: forWhom });
        const link = await linkGet(ctx.host, bridge);
        await addrAdd(ctx.host, link, cidr, { nodad: true, for: forWhom }).catch((e: unknown) => {
          if (!isExists(e)) throw e;
        });
      },
    },
    {
      title: 'turning on IPv6 forwarding',
      equivalent: [sysctlSetCommand(ctx.host.name, 'net.ipv6.conf.all.forwarding', 1)],
      do: () => sysctlSet(ctx.host, 'net.ipv6.conf.all.forwarding', 1, { for: forWhom }),
    },
  ];
}

/** A bridge by name, or undefined when it doesn't exist. */
export function findBridge(ctx: Context, n: NetworkRecord): Promise<Link | undefined> {
  return findLink(ctx, n.bridge!);
}

/** A link of the host by name, or undefined when it doesn't exist. */
async function findLink(ctx: Context, name: string): Promise<Link | undefined> {
  try {
    return await linkGet(ctx.host, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * For a plan that attaches to `nets`: the bridges (macvlan networks: parents)
 * found (by network id), and the steps that make those missing (after a reboot; the default bridge's
 * first use), with nsnet's tables first if there are none yet. Those steps
 * make the network's objects, not the sandbox's: no undo, whatever happens
 * to the sandbox.
 */
export async function missingBridgeSteps(ctx: Context, nets: NetworkRecord[], all: NetworkRecord[], sandboxes: () => Promise<SandboxRecord[]>):
  Promise<{ bridges: Map<string, Link>; steps: Step[] }> {
  const bridges = new Map<string, Link>();
  const steps: Step[] = [];
  let needTables = false; // a bridge's steps need nsnet's tables first; a macvlan's parent does not
  for (const n of nets) {
    if (n.driver === 'macvlan') {
      // The parent, looked up once here; an internal network's own one is made again if gone (a reboot).
      if (ctx.planned?.has(`parent ${n.parent}`)) continue;
      const parent = await findLink(ctx, n.parent!);
      if (parent) bridges.set(n.id, parent);
      else if (n.ownParent && !shownBefore(ctx, `parent ${n.parent}`)) steps.push(...macvlanNetworkSteps(ctx, n).map(({ undo: _undo, ...step }) => step));
      continue;
    }
    if (ctx.planned?.has(`bridge ${n.bridge}`)) continue; // a dry run showed it made already
    const link = await findBridge(ctx, n);
    if (link) bridges.set(n.id, link);
    else if (!shownBefore(ctx, `bridge ${n.bridge}`)) {
      steps.push(...bridgeSteps(ctx, n).map(({ undo: _undo, ...step }) => step));
      needTables = true;
    }
  }
  if (needTables) steps.unshift(...await tablesStep(ctx, all, sandboxes));
  return { bridges, steps };
}
