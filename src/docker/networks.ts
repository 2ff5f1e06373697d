// Networks, the impure part: `nsnet network create|rm|ls|inspect|prune`.
//
// A bridge network is, in the kernel:
//   ip link add br-0123456789ab type bridge; ip link set br-0123456789ab up
//   ip addr add 172.18.0.1/16 dev br-0123456789ab        the gateway
//   sysctl -w net.ipv4.ip_forward=1
//   sysctl -w net.ipv4.conf.br-0123456789ab.route_localnet=1   (published ports on 127.0.0.1)
//   nft add element ip nsnet bridges { "br-0123456789ab" } ...   (src/nft/table.ts)
//
// The state record is written when the kernel objects exist; if creating
// them fails halfway, what was made is removed again. After a reboot the
// bridge is gone but the network is not: the next sandbox that attaches
// recreates it (ensureBridge), as Docker recreates its bridges at start.
import { addrAdd } from '../kernel/addr.js';
import { bridgeEnsure } from '../kernel/bridge.js';
import { isExists, isNotFound } from '../kernel/errors.js';
import { linkDel, linkGet, type Link } from '../kernel/link.js';
import { sysctlSet } from '../kernel/sysctl.js';
import { parsePrefix } from '../net/ip.js';
import { bridgeMac } from '../net/mac.js';
import { networkElements } from '../nft/table.js';
import { withState } from '../state/store.js';
import type { Context } from './context.js';
import { conflict, forEachRef, notFound, NsnetError } from './errors.js';
import { addElements, checkTables, deleteElements, dockerForwardAccept, dockerForwardRemove, networkRules as fw, tablesStep } from './firewall.js';
import { hostResolvConf, reservedPrefixes } from './host.js';
import { builtinNetworks, inspectNetwork, planNetwork, type NetworkCreateRequest } from './network.js';
import { runSteps, type Step } from './plan.js';
import type { NetworkRecord, SandboxRecord, State } from './types.js';

/**
 * Runs `fn` on the state under the lock, with the built-in networks present,
 * after checking that nsnet's firewall tables are there and rebuilding them
 * from this state if not (firewall.ts): no command works on top of a
 * flushed firewall.
 */
export async function usingState<T>(ctx: Context, fn: (s: State) => Promise<T> | T, o: { checkTables?: boolean } = {}): Promise<T> {
  return withState<NetworkRecord, SandboxRecord, T>(ctx.dirs, async (s) => {
    if (!s.networks.some((n) => n.builtin)) {
      const reserved = await reservedPrefixes(ctx.host, await hostResolvConf());
      s.networks.unshift(...builtinNetworks(s, reserved));
    }
    if (o.checkTables !== false) {
      const repaired = await checkTables(ctx, s.networks, () => s.sandboxes.all());
      if (repaired) ctx.warn(`nsnet: ${repaired}`);
    }
    return fn(s);
  }, { commit: !ctx.dryRun || ctx.scratchState === true });
}

/** A network by name, full id or unique id prefix, as Docker resolves them. */
export function findNetwork(s: State, ref: string): NetworkRecord {
  const byName = s.networks.find((n) => n.name === ref);
  if (byName) return byName;
  const byId = s.networks.filter((n) => n.id.startsWith(ref));
  if (byId.length === 1 && ref.length >= 1) return byId[0]!;
  if (byId.length > 1) throw new NsnetError('InvalidArgument', `network ${ref} is ambiguous (${byId.length} matches found on name,id)`);
  throw notFound(`network ${ref} not found`);
}

function bridgeSteps(ctx: Context, n: NetworkRecord): Step[] {
  const bridge = n.bridge!;
  const prefixlen = parsePrefix(n.subnet!).prefixlen;
  let created = false;
  return [
    {
      title: `creating bridge ${bridge}`,
      equivalent: [`ip link add ${bridge}${n.mtu ? ` mtu ${n.mtu}` : ''} address ${bridgeMac(n.id)} up type bridge`],
      do: async () => {
        created = (await bridgeEnsure(ctx.host, { name: bridge, up: true, address: bridgeMac(n.id), ...(n.mtu && { mtu: n.mtu }), for: `network ${n.name}` })).created;
      },
      undo: async () => {
        if (created) await linkDel(ctx.host, await linkGet(ctx.host, bridge));
      },
    },
    {
      title: `adding gateway ${n.gateway}/${prefixlen} to ${bridge}`,
      equivalent: [`ip addr add ${n.gateway}/${prefixlen} dev ${bridge}`],
      do: async () => {
        const link = await linkGet(ctx.host, bridge);
        await addrAdd(ctx.host, link, `${n.gateway}/${prefixlen}`, { for: `network ${n.name}` }).catch((e: unknown) => {
          if (!isExists(e)) throw e;
        });
      },
    },
    {
      title: 'turning on IPv4 forwarding',
      equivalent: ['sysctl -w net.ipv4.ip_forward=1', `sysctl -w net.ipv4.conf.${bridge}.route_localnet=1`],
      do: async () => {
        await sysctlSet(ctx.host, 'net.ipv4.ip_forward', 1, { for: `network ${n.name}` });
        // Lets a DNAT of 127.0.0.1:PORT leave through the bridge (published ports from the host itself).
        await sysctlSet(ctx.host, `net/ipv4/conf/${bridge}/route_localnet`, 1, { for: `network ${n.name}` });
      },
    },
    ...(n.internal ? [{
      // --internal without nftables: the kernel itself routes nothing that comes in on this
      // bridge, so an `nft flush ruleset` can't open an internal network to the world.
      // After ip_forward (writing that one resets every interface's forwarding).
      title: `turning off routing from ${bridge} (internal network)`,
      equivalent: [`sysctl -w net.ipv4.conf.${bridge}.forwarding=0`],
      do: () => sysctlSet(ctx.host, `net/ipv4/conf/${bridge}/forwarding`, 0, { for: `network ${n.name}` }),
    }] : []),
    {
      title: `adding ${bridge} to the nsnet firewall`,
      equivalent: [networkElements('add', fw(n)).trim().split('\n').map((l) => `nft ${l}`).join('\n')],
      do: () => addElements(ctx, networkElements('add', fw(n)), `adding network ${n.name} to the firewall`),
      undo: () => deleteElements(ctx, networkElements('delete', fw(n)), `removing network ${n.name} from the firewall`),
    },
    {
      title: `letting ${bridge} through Docker's FORWARD chain, if Docker is here`,
      equivalent: [`nft insert rule ip filter DOCKER-USER iifname ${JSON.stringify(bridge)} accept comment "nsnet"`,
        `nft insert rule ip filter DOCKER-USER oifname ${JSON.stringify(bridge)} accept comment "nsnet"`],
      do: async () => {
        if (await dockerForwardAccept(ctx, bridge)) ctx.warn(`nsnet: Docker's FORWARD policy is drop here; added accept rules for ${bridge} to DOCKER-USER`);
      },
      undo: () => dockerForwardRemove(ctx, bridge),
    },
  ];
}


/**
 * Makes sure a bridge network's kernel objects exist (after a reboot, or the
 * default bridge's first use). Returns the bridge (undefined in a dry run).
 */
export async function ensureBridge(ctx: Context, n: NetworkRecord): Promise<Link | undefined> {
  if (ctx.dryRun) return undefined;
  try {
    return await linkGet(ctx.host, n.bridge!);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  await runSteps(bridgeSteps(ctx, n), ctx.observe, ctx.dryRun);
  return linkGet(ctx.host, n.bridge!);
}

export async function networkCreate(ctx: Context, req: NetworkCreateRequest): Promise<NetworkRecord> {
  return usingState(ctx, async (s) => {
    const reserved = req.subnet ? [] : await reservedPrefixes(ctx.host, await hostResolvConf());
    const { network, warnings } = planNetwork(req, s, reserved);
    warnings.forEach(ctx.warn);
    // Otherwise made on first use; a multi-step plan shows them once.
    const tables = ctx.dryRun && !ctx.plannedTables ? await tablesStep(ctx) : undefined;
    if (ctx.dryRun) ctx.plannedTables = true;
    await runSteps([...(tables ? [tables] : []), ...bridgeSteps(ctx, network)], ctx.observe, ctx.dryRun);
    s.networks.push(network);
    return network;
  });
}

/** Removes networks; each one that can't be removed is reported, the others still go. */
export function networkRemove(ctx: Context, refs: string[]): Promise<string[]> {
  return forEachRef(refs, (ref) => usingState(ctx, async (s) => {
    const n = findNetwork(s, ref);
    if (n.builtin) throw new NsnetError('Conflict', `${n.name} is a pre-defined network and cannot be removed`);
    if (await s.addresses.anyUsed(n.id)) {
      const users = (await s.sandboxes.all()).filter((sb) => sb.endpoints.some((e) => e.networkId === n.id));
      throw conflict(`error while removing network: network ${n.name} id ${n.id} has active endpoints (${users.map((u) => u.name).join(', ')})`);
    }
    if (ctx.dryRun) {
      await ctx.observe?.({
        title: `removing network ${n.name}`,
        equivalent: [
          ...networkElements('delete', fw(n)).trim().split('\n').map((l) => `nft ${l}`),
          `nft -a list chain ip filter DOCKER-USER  # and delete its two "nsnet" rules for ${n.bridge}, if Docker is here`,
          `ip link del ${n.bridge}`,
        ],
        do: async () => {},
      });
      if (ctx.scratchState) {
        s.networks = s.networks.filter((x) => x.id !== n.id);
        await s.addresses.drop(n.id);
      }
      return;
    }
    await deleteElements(ctx, networkElements('delete', fw(n)), `removing network ${n.name} from the firewall`);
    await dockerForwardRemove(ctx, n.bridge!);
    try {
      await linkDel(ctx.host, await linkGet(ctx.host, n.bridge!), { for: `network ${n.name}` });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    s.networks = s.networks.filter((x) => x.id !== n.id);
    await s.addresses.drop(n.id);
  }));
}

export function networkList(ctx: Context): Promise<NetworkRecord[]> {
  return usingState(ctx, (s) => s.networks);
}

export function networkInspect(ctx: Context, refs: string[]): Promise<object[]> {
  return usingState(ctx, async (s) => {
    const all = await s.sandboxes.all();
    return refs.map((r) => inspectNetwork(findNetwork(s, r), all));
  });
}

/** Removes every user-defined network no sandbox uses. */
export async function networkPrune(ctx: Context): Promise<string[]> {
  const unused = await usingState(ctx, async (s) => {
    const names: string[] = [];
    for (const n of s.networks) if (!n.builtin && !(await s.addresses.anyUsed(n.id))) names.push(n.name);
    return names;
  });
  return unused.length ? networkRemove(ctx, unused) : [];
}
