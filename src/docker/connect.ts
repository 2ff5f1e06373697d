// `nsnet network connect|disconnect`: adding an endpoint (eth1, eth2, ...) to
// a live sandbox, or taking one away. Both are plans built from the same
// endpoint steps (endpoint.ts): connect runs them, disconnect runs their
// undos, then gives the default route to the next network if the endpoint
// carried it, and rewrites the sandbox's files.
import type { Context } from './context.js';
import { defaultRouteStep, endpointSteps, planEndpoint, releaseAddress } from './endpoint.js';
import { conflict, invalidArg, notFound, NsnetError } from './errors.js';
import { overlayFind } from './overlay.js';
import { missingBridgeSteps } from './bridge.js';
import { checkMacvlanEndpoint } from './macvlan.js';
import { renderFiles, rewriteFilesStep } from './files.js';
import { findSandbox } from './lookup.js';
import { nonEmpty } from './modes/mode.js';
import { ipv6OffByDefaultStep, SandboxNs } from './namespace.js';
import { findNetwork, usingState } from './networks.js';
import { removeSteps, runSteps } from './plan.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord, State } from './types.js';

/**
 * The first endpoint, other than `except`, on a network with a gateway: the one that carries the default route.
 * Never an overlay endpoint (no way out): an overlay sandbox's is its eth1 on nsnet_gwbridge (gwbridge.ts),
 * or, on an internal overlay network, the first bridge network it is connected to.
 */
function routeCarrier(s: State, sb: SandboxRecord, except?: EndpointRecord): EndpointRecord | undefined {
  return sb.endpoints.find((x) => x !== except && !x.overlay && !s.networks.find((n) => n.id === x.networkId)?.internal);
}

/** A network of this host; an overlay network (in the cluster store) is refused, saying what works instead. */
async function localNetwork(ctx: Context, s: State, ref: string): Promise<NetworkRecord> {
  try {
    return findNetwork(s, ref);
  } catch (e) {
    if (e instanceof NsnetError && e.kind === 'NotFound' && ctx.clusterStore && await overlayFind(ctx, ref).catch(() => undefined)) {
      throw invalidArg(`network connect and disconnect do not take overlay networks yet (${ref}): create the sandbox with --network ${ref}`);
    }
    throw e;
  }
}

/** Connects a live sandbox to one more network: `nsnet network connect`. */
export async function sandboxConnect(ctx: Context, netRef: string, sbRef: string, o: { ip?: string; ip6?: string; aliases?: string[] } = {}): Promise<void> {
  const { sb, net, e, files, hasRoute, missing } = await usingState(ctx, async (s) => {
    const net = await localNetwork(ctx, s, netRef);
    const sb = await findSandbox(s, sbRef);
    if (sb.mode === 'container') throw conflict('container sharing network namespace with another container or host cannot be connected to any other network');
    if (sb.cni) throw conflict(`sandbox ${sb.name} is a CNI attachment: its runtime attaches it to networks (one attachment per network and interface)`);
    if (sb.mode === 'host' || net.driver === 'host') throw conflict('container cannot be disconnected from host network or connected to host network');
    if (sb.mode === 'none' || net.driver === 'null') throw conflict('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    if (sb.status === 'creating') throw conflict(`sandbox ${sb.name} is still being created`);
    if (sb.endpoints.some((x) => x.networkId === net.id)) throw conflict(`endpoint with name ${sb.name} already exists in network ${net.name}`);
    if (net.defaultBridge && nonEmpty(o.aliases)) throw invalidArg('network-scoped alias is supported only for containers in user defined networks');
    const hasRoute = !!routeCarrier(s, sb);
    const mv = net.driver === 'macvlan' ? await checkMacvlanEndpoint(ctx, s, net, {}) : {};
    const e = await planEndpoint(s, sb, net, { ...(o.ip && { ip: o.ip }), ...(o.ip6 && { ip6: o.ip6 }), ...(mv.mac && { mac: mv.mac }), aliases: o.aliases ?? [] });
    const updated = { ...sb, endpoints: [...sb.endpoints, e] };
    s.sandboxes.put(updated);
    const missing = await missingBridgeSteps(ctx, [net], s.networks, () => s.sandboxes.all());
    return { sb: updated, net, e, hasRoute, files: await renderFiles(s, updated), missing };
  });
  const ns = new SandboxNs(sb.netns!);
  try {
    await runSteps([
      ...missing.steps,
      // A namespace born with IPv6 on by default (dual-stack endpoints only): not for this interface.
      ...(e.ip6 ? [] : [ipv6OffByDefaultStep(ns, `sandbox ${sb.name}`)]),
      ...endpointSteps(ctx, sb, net, e, { ns, bridge: missing.bridges.get(net.id) }, { defaultRoute: !hasRoute && !net.internal, ownVeth: true }),
      rewriteFilesStep(ctx, sb.netns!, files),
    ], ctx);
  } catch (err) {
    await usingState(ctx, async (s) => {
      const rec = await s.sandboxes.byId(sb.id);
      if (!rec) return;
      await releaseAddress(s, net, e);
      s.sandboxes.put({ ...rec, endpoints: rec.endpoints.filter((x) => x.endpointId !== e.endpointId) });
    });
    throw err;
  } finally {
    await ns.close();
  }
  if (!net.defaultBridge && !ctx.dryRun) await ctx.dns?.sync(true, [sb.id]);
}

/** Disconnects a sandbox from a network: `nsnet network disconnect`. */
export async function sandboxDisconnect(ctx: Context, netRef: string, sbRef: string): Promise<void> {
  const sbId = await usingState(ctx, async (s) => {
    const net: NetworkRecord = await localNetwork(ctx, s, netRef);
    const sb = await findSandbox(s, sbRef);
    const e = sb.endpoints.find((x) => x.networkId === net.id);
    if (!e) throw notFound(`sandbox ${sb.name} is not connected to network ${net.name}`);
    if (sb.cni) throw conflict(`sandbox ${sb.name} is a CNI attachment: its runtime detaches it (CNI DEL)`);
    const ns = new SandboxNs(sb.netns!);
    try {
      await removeSteps(endpointSteps(ctx, sb, net, e, { ns }, { defaultRoute: false, ownVeth: true }), ctx);
      const carried = routeCarrier(s, sb) === e;
      sb.endpoints = sb.endpoints.filter((x) => x !== e);
      await releaseAddress(s, net, e);
      s.sandboxes.put(sb);
      // If that link carried the default route, it went with it: the next network with a gateway gets it.
      const next = carried ? routeCarrier(s, sb) : undefined;
      await runSteps([...(next ? [defaultRouteStep(sb, ns, next.gateway)] : []), rewriteFilesStep(ctx, sb.netns!, await renderFiles(s, sb))], ctx);
    } finally {
      await ns.close();
    }
    return sb.id;
  });
  if (!ctx.dryRun) await ctx.dns?.sync(false, [sbId]);
}
